import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertPayload } from '../../../src/alerts/webhook.js';
import { sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { webhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.js';
import { SchedulingWorld } from './fixture.js';

let world: SchedulingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function isoIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

describe('priority, postpone and deadline (real Redis, echo flow)', () => {
  it('runs 5 alta items before the 100 normal ones still waiting, FIFO within each priority', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start({ conferencia: { maxWorkers: 1, attempts: 1 } });
    await w.push(...Array.from({ length: 100 }, (_, i) => ({ id: `n-${i}`, sleepMs: 60 })));
    const bull = new Queue('conferencia', { connection: sharedRedisConfig({ prefix: w.u }), prefix: w.u });
    try {
      // The normal items are jobs (and the first may run) before the alta ones arrive.
      await waitFor(
        async () => {
          const c = await bull.getJobCounts('prioritized', 'active', 'completed');
          return (c['prioritized'] ?? 0) + (c['active'] ?? 0) + (c['completed'] ?? 0) === 100;
        },
        { what: '100 normal jobs bridged', intervalMs: 10 },
      );
    } finally {
      await bull.close();
    }
    await w.push(...Array.from({ length: 5 }, (_, i) => ({ id: `a-${i}`, sleepMs: 60, prioridade: 'alta' })));
    const entries = await w.waitForEntries(105, 120_000);
    const order = entries.map((e) => String(e.id));
    const firstAlta = order.indexOf('a-0');
    expect(order.slice(firstAlta, firstAlta + 5)).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4']);
    const normals = order.filter((id) => id.startsWith('n-'));
    expect(normals).toEqual(Array.from({ length: 100 }, (_, i) => `n-${i}`));
    // One worker, 60 ms a job: at most a few normal jobs ran while the alta ones were bridged.
    expect(firstAlta).toBeLessThan(20);
    expect(entries.every((e) => e.status === 'ok')).toBe(true);
  });

  it('runs a postponed item no earlier than executarApos, with no worker kept for it meanwhile', async () => {
    world = new SchedulingWorld();
    const w = world;
    const service = await w.start();
    const notBefore = Date.now() + 4000;
    await w.push({ id: 'later', executarApos: new Date(notBefore).toISOString() });
    const bull = new Queue('conferencia', { connection: sharedRedisConfig({ prefix: w.u }), prefix: w.u });
    try {
      await waitFor(async () => (await bull.getJobCounts('delayed'))['delayed'] === 1 || undefined, {
        what: 'a delayed job',
      });
      // Not pending before it is due: the scaler keeps no worker for it.
      expect(service.pool?.counts('conferencia').live).toBe(0);
    } finally {
      await bull.close();
    }
    const [entry] = await w.waitForEntries(1, 60_000);
    expect(entry?.status).toBe('ok');
    expect(Date.parse(entry?.startedAt ?? '')).toBeGreaterThanOrEqual(notBefore);
    // The scaler woke when it came due, not at its 60 s tick.
    expect(Date.parse(entry?.startedAt ?? '') - notBefore).toBeLessThan(30_000);
  });

  it('gives an item whose deadline passes while it waits an expired entry, and never runs it', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start({ conferencia: { maxWorkers: 1, attempts: 1 } });
    const prazo = isoIn(1500);
    await w.push({ id: 'blocker', sleepMs: 4000 }, { id: 'late', prazo, sleepMs: 1 });
    const entries = await w.waitForEntries(2, 60_000);
    const late = entries.filter((e) => e.id === 'late');
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ status: 'expired', result: null, attempts: 0 });
    expect(late[0]?.error?.name).toBe('PrazoExpirado');
    expect(late[0]?.error?.message).toContain(new Date(Date.parse(prazo)).toISOString());
    expect(entries.find((e) => e.id === 'blocker')?.status).toBe('ok');
    // The line is logged just after the entry is written: wait for it rather than race it.
    await waitFor(() => w.log.lines.some((l) => l.message.startsWith('Job expirado: prazo')) || undefined, {
      what: 'the "Job expirado" log line',
    });
  });

  it('sends malformed scheduling fields to the invalid list with a reason naming the field', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start();
    await w.push(
      { id: 'p', prioridade: 'urgente' },
      { id: 'e', executarApos: 'amanhã às 8' },
      { id: 'd', prazo: '2026-12-01T08:00:00' },
      { id: 'ok', prioridade: 'baixa' },
    );
    const invalid = await waitFor(
      async () => {
        const list = await w.redis.lrange(`${w.source}:invalid`, 0, -1);
        return list.length === 3
          ? list.map((t) => JSON.parse(t) as { reason: string; detail: string; raw: string })
          : undefined;
      },
      { what: '3 invalid items' },
    );
    expect(invalid.map((e) => e.reason)).toEqual(['bad-prioridade', 'bad-executarApos', 'bad-prazo']);
    expect(invalid[0]?.detail).toMatch(/^prioridade: "urgente"/);
    expect(invalid[1]?.detail).toMatch(/^executarApos: /);
    expect(invalid[2]?.detail).toMatch(/^prazo: .*fuso horário/);
    expect(JSON.parse(invalid[0]?.raw ?? '{}')).toEqual({ id: 'p', prioridade: 'urgente' });
    const [entry] = await w.waitForEntries(1);
    expect(entry).toMatchObject({ id: 'ok', status: 'ok' });
  });
});

describe('alert rule deadlineAtRisk', () => {
  const rule = { name: 'prazos', kind: 'deadlineAtRisk', queue: 'conferencia', threshold: 0, forSeconds: 0 };
  // Every alert that fires is posted here: what fired is read from it, not from the log's wording.
  let hook: WebhookReceiver<AlertPayload> | undefined;
  afterEach(async () => {
    await hook?.close();
    hook = undefined;
  });

  it('fires when the backlog cannot drain before the deadlines, naming queue, count and earliest deadline', async () => {
    world = new SchedulingWorld();
    const w = world;
    hook = await webhookReceiver<AlertPayload>();
    const posted = hook.bodies;
    await w.start({
      conferencia: { maxWorkers: 1 },
      alerts: { evaluateSeconds: 1, rules: [rule], webhookUrl: hook.url },
    });
    // 30 jobs of 1 s on one worker need ~30 s; the deadline is in 10 s.
    const prazo = new Date(Date.now() + 10_000).toISOString();
    await w.push(...Array.from({ length: 30 }, (_, i) => ({ id: `r-${i}`, sleepMs: 1000, prazo })));
    const line = await waitFor(() => w.alertLines()[0], { what: 'an [ALERTA] line', timeoutMs: 30_000 });
    const m =
      /^\[ALERTA\] prazos: conferencia: (\d+) item\(ns\) com prazo em risco; prazo mais próximo (\S+); conferencia drena ~[\d.]+\/min \(limite 0\)$/.exec(
        line,
      );
    expect(m, line).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(10);
    expect(m?.[2]).toBe(prazo);
    const alert = await waitFor(() => posted[0], { what: 'the alert posted to the webhook' });
    expect(alert).toMatchObject({ rule: 'prazos', kind: 'deadlineAtRisk', queue: 'conferencia', threshold: 0 });
    expect(alert.value).toBeGreaterThanOrEqual(10);
  });

  it('does not fire when the backlog drains in time', async () => {
    world = new SchedulingWorld();
    const w = world;
    hook = await webhookReceiver<AlertPayload>();
    await w.start({
      conferencia: { maxWorkers: 2 },
      alerts: { evaluateSeconds: 1, rules: [rule], webhookUrl: hook.url },
    });
    const prazo = isoIn(10 * 60_000);
    // 20 jobs of 500 ms on two workers: ~5 s of backlog, evaluated every second, deadline in 10 min.
    await w.push(...Array.from({ length: 20 }, (_, i) => ({ id: `s-${i}`, sleepMs: 500, prazo })));
    const entries = await w.waitForEntries(20, 60_000);
    const spanMs = Date.parse(entries.at(-1)?.finishedAt ?? '') - Date.parse(entries[0]?.startedAt ?? '');
    expect(spanMs).toBeGreaterThan(3000);
    // The rule was evaluated all along (every second, over > 3 s of backlog) and never fired.
    expect(hook.bodies).toEqual([]);
  });
});
