import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { StalledJanitor } from '../../../src/pool/janitor.js';
import type { ResultEntry } from '../../../src/workers/result-entry.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const MAX_STALLED = 2;
const LOCK_MS = 1000;

/**
 * A job whose worker dies mid-job more than `maxStalledCount` times is failed by BullMQ on its own
 * (the next Worker to take it fails it without running it). It still gets exactly one `error`
 * entry, with several janitors (several instances) watching.
 */
describe('a job BullMQ fails for stalling too often', () => {
  const name = uniqueName('stall');
  const resultList = `fila:${name}:resultado`;
  const redis = new Redis(sharedRedisConfig());
  const connection = { ...sharedRedisConfig(), maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  const workers: Worker[] = [];
  const janitors: StalledJanitor[] = [];
  const hung: (() => void)[] = [];

  afterEach(async () => {
    for (const janitor of janitors) await janitor.close();
    await Promise.allSettled(workers.map((w) => w.close(true)));
    for (const release of hung) release();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await deleteKeys(redis, `bull:${name}:*`);
    await deleteKeys(redis, `bull:rpa:*:${name}:*`);
    await deleteKeys(redis, `fila:${name}*`);
    redis.disconnect();
  });

  /** A janitor, as each instance runs one; `sweeps` counts its sweeps (each reads the clock once). */
  function startJanitor(): { janitor: StalledJanitor; sweeps: () => number } {
    let clockReads = 0;
    const janitor = new StalledJanitor({
      queues: [{ name, resultList }],
      redis: sharedRedisConfig(),
      logger: memoryLogger().logger,
      stalledIntervalMs: 300,
      maxStalledCount: MAX_STALLED,
      keepFailedSeconds: 3600,
      clock: () => (clockReads++, Date.now()),
    });
    janitors.push(janitor);
    return { janitor, sweeps: () => clockReads };
  }

  /** A worker that takes the job and dies with it: it never finishes, its lock is never renewed. */
  async function dieWithTheJob(): Promise<void> {
    let taken = false;
    const worker = new Worker(
      name,
      () =>
        new Promise((resolve) => {
          taken = true;
          hung.push(() => resolve(undefined));
        }),
      { connection, lockDuration: LOCK_MS, maxStalledCount: MAX_STALLED, skipStalledCheck: true },
    );
    workers.push(worker);
    await waitFor(() => taken, { what: 'job taken' });
    await worker.close(true); // gone: no lock renewal, no completion
  }

  const stalls = async (): Promise<number> => Number((await redis.hget(`bull:${name}:travado-1`, 'stc')) ?? 0);
  const entries = async (): Promise<ResultEntry[]> =>
    (await redis.lrange(resultList, 0, -1)).map((line) => JSON.parse(line) as ResultEntry);

  it('gets exactly one error entry, written once by the janitors of all instances', { timeout: 90_000 }, async () => {
    const watching = [startJanitor(), startJanitor(), startJanitor()];
    await Promise.all(watching.map(({ janitor }) => janitor.start()));
    await queue.add('echo', { id: 'travado-1' }, { jobId: 'travado-1', attempts: 3 });

    for (let death = 1; death <= MAX_STALLED + 1; death++) {
      await dieWithTheJob();
      await waitFor(async () => (await stalls()) === death, { what: `stall ${death}` });
    }
    // The next worker to take the job fails it at once: its processor is never called.
    let ran = false;
    const survivor = new Worker(name, () => ((ran = true), Promise.resolve('ok')), {
      connection,
      name: `Worker-${name}-9`,
      maxStalledCount: MAX_STALLED,
    });
    workers.push(survivor);
    await waitFor(async () => (await queue.getJobState('travado-1')) === 'failed', { what: 'job failed' });
    await waitFor(async () => (await entries()).length > 0, { what: 'error entry' });

    // Every janitor sweeps again after the entry, and one started now (a restart: it looks back a
    // day at start) sweeps too: still one. A sweep reads the clock as it begins (and once before the first).
    const late = startJanitor();
    await late.janitor.start();
    const after = watching.map(({ sweeps }) => sweeps());
    await waitFor(() => watching.every(({ sweeps }, i) => sweeps() >= (after[i] ?? 0) + 2) && late.sweeps() >= 3, {
      what: 'a whole sweep by every janitor after the entry',
    });
    const found = await entries();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      id: 'travado-1',
      queue: name,
      status: 'error',
      result: null,
      error: { name: 'JobTravado', permanent: true },
      attempts: MAX_STALLED + 1,
      worker: `Worker-${name}-9`,
      durationMs: 0,
    });
    expect(found[0]?.error?.message).toMatch(/travou 3 vez/);
    expect(ran).toBe(false);
    expect((await queue.getJob('travado-1'))?.failedReason).toBe('job stalled more than allowable limit');
  });
});
