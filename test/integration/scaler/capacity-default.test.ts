import { describe, expect, it } from 'vitest';
import type { QueuePlan } from '../../../src/scaler/decide.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { TEST_DBS, uniqueName } from '../../helpers/redis.js';
import { serviceLifecycle } from '../../helpers/service-lifecycle.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// The default capacity config (capacity.enabled true) on echo jobs: the seed's rule and caps are
// exactly what runs while the machine has room. This file owns Redis database 13 and names its
// lists and BullMQ keys with a random prefix, deleted after.
const DB = TEST_DBS.capacityDefault;
const prefix = uniqueName('capdef');
const ctx = serviceLifecycle(DB, [`${prefix}*`, 'rpa:*']);

const list = (queue: string): string => `${prefix}:fila:${queue}`;
const results = `${prefix}:fila:resultado`;

function queues(names: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((q) => [q, { flow: 'echo', sourceList: list(q), resultList: results }]));
}

function items(tag: string, count: number, sleepMs: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ id: `${tag}-${i}`, sleepMs }));
}

/**
 * A plan below the rule is allowed only when the machine was short of room, as the plan's own
 * numbers show: the start gate (overloaded), or less than one core of CPU left free by other
 * processes (echo units cost a few hundredths of a core), or memory.
 */
function belowRuleWithoutCause(p: QueuePlan): boolean {
  const r = p.reason;
  if (r.kind === 'overload') return false;
  if (r.kind === 'capacity') return r.limit.signal === 'cpu' ? r.limit.freeCores >= 1 : r.limit.signal === 'none';
  return false;
}

async function start(names: readonly string[]): Promise<{ service: Service; plans: QueuePlan[][] }> {
  const config = serviceConfig(
    { queues: queues(names), capacity: { enabled: true }, redis: { prefix }, scaler: { stabilizationSeconds: 2 } },
    { REDIS_DB: String(DB) },
  );
  expect(config.capacity.enabled).toBe(true);
  const { logger } = memoryLogger('info');
  const s = new Service({ config, logger });
  ctx.service = s;
  await s.start();
  const plans: QueuePlan[][] = [];
  s.scaler?.on('evaluated', (p) => plans.push([...p]));
  return { service: s, plans };
}

describe('default capacity config on echo jobs (real Redis)', () => {
  it('322 + 3 → 7 + 1 units at the first decision after the burst, the rule’s own reason', async () => {
    const { service: s, plans } = await start(['conferencia', 'emissao']);
    const pool = s.pool;
    if (!pool) throw new Error('pool not started');
    let peak = { conferencia: 0, emissao: 0 };
    pool.on('unit-state', () => {
      peak = {
        conferencia: Math.max(peak.conferencia, pool.counts('conferencia').live),
        emissao: Math.max(peak.emissao, pool.counts('emissao').live),
      };
    });
    const pushedAt = Date.now();
    await ctx.redis.rpush(list('conferencia'), ...items('c', 322, 300));
    await ctx.redis.rpush(list('emissao'), ...items('e', 3, 300));
    const burst = await waitFor(
      () => plans.find((ps) => ps.some((p) => p.queue === 'conferencia' && p.pending >= 300)),
      {
        what: 'the first decision that sees the burst',
      },
    );
    const conf = burst.find((p) => p.queue === 'conferencia') as QueuePlan;
    // No queue has a CPU measurement yet: the rule decides, unless the machine was overloaded.
    if (conf.reason.kind !== 'overload') expect(conf).toMatchObject({ wanted: 7, target: 7, bound: 'rule' });
    await waitFor(() => peak.conferencia === 7 && peak.emissao === 1, {
      timeoutMs: 60_000,
      what: '7 conferencia and 1 emissao units live',
    });
    console.log(`capacity on: 7 + 1 units live ${Date.now() - pushedAt} ms after the push`);
    await waitFor(async () => (await ctx.redis.llen(results)) === 325, { timeoutMs: 180_000, what: '325 results' });
    const entries = (await ctx.redis.lrange(results, 0, -1)).map((e) => JSON.parse(e) as { status: string });
    expect(entries.every((e) => e.status === 'ok')).toBe(true);
    // Capacity never below the rule without a cause the decision shows.
    const unjustified = plans.flat().filter(belowRuleWithoutCause);
    expect(unjustified).toEqual([]);
    // The echo units were measured, and cheap.
    const measured = plans
      .flat()
      .filter((p) => p.reason.kind === 'capacity' && p.reason.limit.signal === 'cpu')
      .map((p) => (p.reason.kind === 'capacity' && p.reason.limit.signal === 'cpu' ? p.reason.limit.perUnit : 0));
    for (const cost of measured) expect(cost).toBeLessThan(0.25);
  }, 240_000);

  it('three queues of 600 → 20 units in all, shared fairly (7 + 7 + 6)', async () => {
    const names = ['conferencia', 'emissao', 'terceira'];
    const { service: s, plans } = await start(names);
    const pool = s.pool;
    if (!pool) throw new Error('pool not started');
    let peakTotal = 0;
    pool.on('unit-state', () => (peakTotal = Math.max(peakTotal, pool.totalCounted())));
    for (const q of names) await ctx.redis.rpush(list(q), ...items(q, 600, 100));
    // The first push is decided at once, before the bridge has taken the other two lists; the next
    // decision (within the debounce, 1 s) sees all three while each still asks 7 or more (> 300).
    const burst = await waitFor(() => plans.find((ps) => ps.filter((p) => p.pending > 300).length === 3), {
      what: 'a decision that sees all three bursts',
    });
    if (!burst.some((p) => p.reason.kind === 'overload')) {
      expect(Object.fromEntries(burst.map((p) => [p.queue, p.target]))).toEqual({
        conferencia: 7,
        emissao: 7,
        terceira: 6,
      });
      for (const p of burst) expect(p.bound).toBe('total');
    }
    await waitFor(async () => (await ctx.redis.llen(results)) === 1800, { timeoutMs: 180_000, what: '1800 results' });
    expect(plans.flat().filter(belowRuleWithoutCause)).toEqual([]);
    const overloaded = plans.flat().some((p) => p.reason.kind === 'overload' || p.reason.kind === 'capacity');
    if (!overloaded) expect(peakTotal).toBe(20);
    else expect(peakTotal).toBeLessThanOrEqual(20);
  }, 240_000);
});
