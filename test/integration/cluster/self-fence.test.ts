/**
 * One `node dist/main.js` on its own redis-server, cut off from it for longer than the unit slots'
 * lease: first a partition as a client sees one (SIGSTOP: connections stay open, every command
 * hangs), then Redis gone (killed, restarted from its AOF). Each time the instance must close its
 * units before their slots could lapse, start none while cut off, and resume once Redis answers;
 * every job ends with exactly one `ok` result entry, and the interrupted attempts count as retries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, PrivateRedis } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

const QUEUE = 'isolamento';
const RESULTS = 'fila:isolamento:resultado';
const UNITS = 4;
/** Long enough to be running when Redis goes away, short enough to finish after. */
const SLEEP_MS = 12_000;
const LEASE_MS = 6000; // 3 heartbeats of 2 s (the default)

interface Fence {
  readonly lastRenewalAt: number;
  readonly fencedAt: number;
  readonly closedAt: number;
  readonly openUnits: number;
}

/** The fence as `/readyz` reports it; undefined while not fenced. */
function parseFence(body: string): Fence | undefined {
  const m =
    /isolada: sem renovar no Redis desde (\S+) \(lease de (\d+) ms\); isolada em (\S+); workers abertos: (\d+); todos encerrados em (\S+)/.exec(
      body,
    );
  if (!m) return undefined;
  expect(Number(m[2])).toBe(LEASE_MS);
  const time = (iso: string | undefined): number => (iso === '-' ? NaN : Date.parse(iso ?? ''));
  return { lastRenewalAt: time(m[1]), fencedAt: time(m[3]), openUnits: Number(m[4]), closedAt: time(m[5]) };
}

describe('an instance cut off from Redis fences itself', () => {
  const dir = tempDir('fence');
  let redis: PrivateRedis;
  let service: ServiceProcess;
  let url: string;
  let client: Redis;
  let queue: Queue;

  beforeAll(async () => {
    redis = await PrivateRedis.create({ dataDir: dir }); // the jobs survive the kill in the second step
    await redis.start();
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        log: { file: '' },
        queues: { [QUEUE]: { flow: 'echo', resultList: RESULTS, jobsPerWorker: 1 } },
        scaler: { stabilizationSeconds: 1, stalledIntervalMs: 1000 },
        jobs: { lockSeconds: 3, attempts: 3 },
        shutdown: { timeoutSeconds: 5 },
      }),
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    service = new ServiceProcess({
      CONFIG_FILE: configFile,
      REDIS_PORT: String(redis.port),
      HTTP_PORT: String(port),
      INSTANCE_ID: 'maq-isolada',
      BRIDGE_ID: 'ponte-isolada',
    });
    await service.waitForLine(/serviço pronto/, 90_000);
    client = new Redis({ port: redis.port, maxRetriesPerRequest: null });
    client.on('error', () => undefined); // Redis is paused and killed on purpose
    queue = new Queue(QUEUE, { connection: client, skipVersionCheck: true });
    queue.on('error', () => undefined);
  }, 120_000);

  afterAll(async () => {
    redis?.resume();
    await service?.stop('SIGKILL');
    await queue?.close().catch(() => undefined);
    client?.disconnect();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const readyz = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  };
  const lines = (pattern: RegExp): string[] => service.lines.filter((l) => pattern.test(l));

  /** From no unit (so the scaler sees the whole burst), pushes `ids`, waits until each runs on its own unit. */
  async function burst(ids: string[]): Promise<void> {
    await waitFor(
      async () => {
        const status = (await (await fetch(`${url}/api/status`)).json()) as {
          instances: { self: boolean; workers: number }[];
        };
        return status.instances.find((i) => i.self)?.workers === 0;
      },
      { timeoutMs: 90_000, what: 'no unit left from before' },
    );
    await client.rpush(`fila:${QUEUE}`, ...ids.map((id) => JSON.stringify({ id, sleepMs: SLEEP_MS })));
    await waitFor(async () => (await queue.getActiveCount()) === ids.length, {
      timeoutMs: 90_000,
      what: `${ids.length} jobs active`,
    });
  }

  /** While cut off: fenced before the lease could run out, units closed, nothing started. */
  async function expectFenced(fencesBefore: number): Promise<Fence> {
    const fence = await waitFor(
      async () => {
        const { status, body } = await readyz();
        const f = parseFence(body);
        return status === 503 && f && f.openUnits === 0 && Number.isFinite(f.closedAt) ? f : undefined;
      },
      { timeoutMs: 60_000, what: '/readyz reporting the fence with every unit closed' },
    );
    // The instance's own record: it fenced once the lease minus one beat had passed since its last
    // renewal reached Redis, and its units were all closed before the lease ran out from there,
    // i.e. before any of its slots could lapse and be granted to another instance.
    expect(fence.fencedAt - fence.lastRenewalAt).toBeGreaterThan(LEASE_MS - 2000);
    expect(fence.closedAt).toBeGreaterThanOrEqual(fence.fencedAt);
    expect(fence.closedAt).toBeLessThan(fence.lastRenewalAt + LEASE_MS);
    expect(lines(/\[ISOLADA\]/).at(-1)).toMatch(
      new RegExp(`\\[ISOLADA\\] sem Redis há \\d+(,\\d)? s \\(lease de 6 s\\): encerrando ${UNITS} worker\\(s\\)`),
    );
    expect(lines(/\[ISOLADA\]/)).toHaveLength(fencesBefore + 1);
    const metrics = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
    expect(metrics).toMatch(/^rpa_instance_fenced 1$/m);
    // Stay cut off past the lease: the slots lapse in Redis meanwhile; nothing starts here. The
    // instance's own state says so at every look: still the same fence, no unit open (a unit
    // started under a claim would be open from its start until it closes).
    const samples: { status: number; fence: Fence | undefined }[] = [];
    await waitFor(
      async () => {
        const { status, body } = await readyz();
        samples.push({ status, fence: parseFence(body) });
        return Date.now() > fence.lastRenewalAt + LEASE_MS + 3000;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the lease to run out' },
    );
    expect(samples.length).toBeGreaterThan(5);
    const unlike = samples.filter(
      (x) => x.status !== 503 || x.fence?.fencedAt !== fence.fencedAt || x.fence.openUnits !== 0,
    );
    expect(unlike).toEqual([]);
    return fence;
  }

  /** Back: one line, ready again, and every job ends with exactly one ok entry. */
  async function expectResumed(rejoinsBefore: number, ids: string[]): Promise<void> {
    await waitFor(() => lines(/\[REINTEGRADA\] Redis voltou: retomando/).length === rejoinsBefore + 1, {
      timeoutMs: 60_000,
      what: 'the rejoin line',
    });
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 60_000, what: '/readyz 200 again' });
    await waitFor(
      async () => {
        const {
          completed = 0,
          active = 0,
          waiting = 0,
          delayed = 0,
        } = await queue.getJobCounts('completed', 'active', 'waiting', 'delayed');
        return completed >= ids.length && active + waiting + delayed === 0;
      },
      { timeoutMs: 120_000, what: 'every job completed after the rejoin' },
    );
    const entries = (await client.lrange(RESULTS, 0, -1)).map((e) => JSON.parse(e) as { id: string; status: string });
    for (const id of ids) expect(entries.filter((e) => e.id === id).map((e) => e.status)).toEqual(['ok']);
  }

  it(
    'SIGSTOP (connections hang): fenced before the lease runs out, resumed after SIGCONT',
    { timeout: 300_000 },
    async () => {
      const ids = Array.from({ length: UNITS }, (_, i) => `parado-${i + 1}`);
      await burst(ids);
      redis.pause();
      try {
        await expectFenced(0);
      } finally {
        redis.resume();
      }
      await expectResumed(0, ids);
      // The interrupted attempts are retries, not failures, and wrote no entry.
      // Each forced attempt reports its retry as its unit closes, which may follow the resume.
      const retries = new RegExp(
        `^rpa_job_duration_seconds_count\\{queue="${QUEUE}",outcome="retry"\\} ${UNITS}$`,
        'm',
      );
      const metrics = await waitFor(
        async () => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return retries.test(text) ? text : undefined;
        },
        { what: `${UNITS} retries in /metrics` },
      );
      expect(metrics).toMatch(retries);
      expect(metrics).not.toMatch(
        new RegExp(`rpa_job_duration_seconds_count\\{queue="${QUEUE}",outcome="error"\\} [1-9]`),
      );
      expect(metrics).toMatch(/^rpa_instance_fenced 0$/m);
    },
  );

  it('Redis killed and restarted from its AOF: the same', { timeout: 300_000 }, async () => {
    const ids = Array.from({ length: UNITS }, (_, i) => `morto-${i + 1}`);
    await burst(ids);
    await redis.stop();
    try {
      await expectFenced(1);
    } finally {
      await redis.start();
    }
    await expectResumed(1, ids);
    const entries = await client.lrange(RESULTS, 0, -1);
    expect(entries).toHaveLength(2 * UNITS);
  });
});
