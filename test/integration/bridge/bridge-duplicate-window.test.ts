import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../../../src/config/types.js';
import { echoFlow } from '../../../src/flows/echo.js';
import { jobIdForPayloadId, jobIdForSequence } from '../../../src/bridge/job-id.js';
import { processingListOf } from '../../../src/bridge/lossless-list-moves.js';
import { WorkerUnit } from '../../../src/workers/worker-unit.js';
import { sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld, jobsDefaults } from './fixture.js';

/**
 * The duplicate window outlives the whole completed job: with whole jobs kept 1 s and the window
 * longer, an item whose id names a job completed within the window is still a duplicate (and a
 * replayed batch still finds the job it made), although the job hash is gone.
 */
describe('bridge: duplicate window past the whole job', () => {
  let world: BridgeWorld;
  let unit: WorkerUnit | undefined;
  afterEach(async () => {
    await unit?.retire();
    unit = undefined;
    await world.cleanup();
  });

  function retention(keepCompletedSeconds: number): AppConfig['jobs'] {
    return { ...jobsDefaults, keepCompletedSeconds, keepCompletedJobSeconds: 1 };
  }

  /** An echo unit with the same retention as the bridge: it records the ids of the jobs it completes. */
  async function startUnit(jobs: AppConfig['jobs']): Promise<WorkerUnit> {
    unit = new WorkerUnit({
      queue: world.queue,
      index: 1,
      flow: echoFlow,
      browser: {
        executablePath: '',
        headless: true,
        args: [],
        launchTimeoutMs: 30_000,
        recycleAfterJobs: 0,
        maxMemoryMb: 0,
        collectGarbageEveryJobs: 0,
        memoryCheckEveryJobs: 0,
      },
      portal: { url: '', user: '', password: '' },
      redis: sharedRedisConfig(),
      artifactsDir: os.tmpdir(),
      logger: world.log.logger,
      keepCompletedSeconds: jobs.keepCompletedSeconds,
      keepCompletedJobSeconds: jobs.keepCompletedJobSeconds,
      keepFailedSeconds: jobs.keepFailedSeconds,
    });
    await unit.start();
    return unit;
  }

  const push = (...items: object[]): Promise<number> =>
    world.redis.rpush(world.queue.sourceList, ...items.map((item) => JSON.stringify(item)));
  const hashExists = async (jobId: string): Promise<boolean> =>
    (await world.redis.exists(`bull:${world.name}:${jobId}`)) === 1;
  const okEntries = async (id: unknown): Promise<number> =>
    (await world.redis.lrange(world.queue.resultList, 0, -1)).filter(
      (line) => (JSON.parse(line) as { id: unknown }).id === id,
    ).length;

  /** Completes throw-away jobs until BullMQ has dropped the whole job `jobId` (it does so as later jobs complete). */
  async function waitUntilDropped(jobId: string): Promise<void> {
    let n = 0;
    await waitFor(
      async () => {
        if (!(await hashExists(jobId))) return true;
        await push({ filler: n++ });
        return false;
      },
      { intervalMs: 500, what: `whole job ${jobId} dropped` },
    );
  }

  it('an id completed within the window is a duplicate after its whole job is gone', async () => {
    world = new BridgeWorld();
    const jobs = retention(600);
    await startUnit(jobs);
    const duplicates: (string | number)[] = [];
    const bridge = world.bridge({ jobs, onDuplicate: (_queue, id) => duplicates.push(id) });
    await bridge.start();

    await push({ id: 'pedido-1', v: 1 });
    await waitFor(async () => (await okEntries('pedido-1')) === 1, { what: 'pedido-1 done' });
    await waitUntilDropped(jobIdForPayloadId('pedido-1'));

    await push({ id: 'pedido-1', v: 2 }, { id: 'pedido-2' });
    await waitFor(async () => (await okEntries('pedido-2')) === 1, { what: 'pedido-2 done' });
    await waitFor(() => duplicates.length === 1, { what: 'duplicate counted' });
    expect(duplicates).toEqual(['pedido-1']);
    expect(await okEntries('pedido-1')).toBe(1);
    expect(await hashExists(jobIdForPayloadId('pedido-1'))).toBe(false);
    expect(bridge.stats()[world.name]).toMatchObject({ duplicates: 1, replayed: 0 });
  });

  it('once the window has passed too, the same id is a new job', async () => {
    world = new BridgeWorld();
    const jobs = retention(3);
    await startUnit(jobs);
    const duplicates: (string | number)[] = [];
    const bridge = world.bridge({ jobs, onDuplicate: (_queue, id) => duplicates.push(id) });
    await bridge.start();

    await push({ id: 'pedido-1', v: 1 });
    await waitFor(async () => (await okEntries('pedido-1')) === 1, { what: 'first run' });
    await waitUntilDropped(jobIdForPayloadId('pedido-1'));
    // Redis expires the id's bucket once the window (and at most a bucket and a margin) has passed.
    await waitFor(async () => !(await isRemembered('pedido-1')), { what: 'pedido-1 forgotten' });

    await push({ id: 'pedido-1', v: 2 });
    await waitFor(async () => (await okEntries('pedido-1')) === 2, { what: 'second run' });
    expect(duplicates).toEqual([]);
  });

  it('a replayed batch finds the job it made although its whole job is gone', async () => {
    world = new BridgeWorld();
    const jobs = retention(600);
    await startUnit(jobs);
    const bridgeId = `replay-${world.name}`;
    const first = world.bridge({ jobs, bridgeId });
    await first.start();
    await push({ v: 'no id' });
    const jobId = jobIdForSequence(world.name, '1');
    await waitFor(async () => (await okEntries(jobId)) === 1, { what: 'first run' });
    await first.close();
    const second = world.bridge({ jobs, bridgeId: `fillers-${world.name}` });
    await second.start();
    await waitUntilDropped(jobId);
    await second.close();

    // As if the first bridge had died after adding the job but before trimming its batch.
    await world.redis.rpush(processingListOf(world.queue.sourceList, bridgeId), `1|${JSON.stringify({ v: 'no id' })}`);
    const replaying = world.bridge({ jobs, bridgeId });
    await replaying.start();
    await waitFor(async () => (await world.redis.llen(processingListOf(world.queue.sourceList, bridgeId))) === 0, {
      what: 'leftover batch settled',
    });
    expect(replaying.stats()[world.name]).toMatchObject({ replayed: 1, moved: 0 });
    expect(await hashExists(jobId)).toBe(false);
    expect(await okEntries(jobId)).toBe(1);
  });

  async function isRemembered(payloadId: string): Promise<boolean> {
    const jobId = jobIdForPayloadId(payloadId);
    let cursor = '0';
    do {
      const [next, keys] = await world.redis.scan(cursor, 'MATCH', `bull:rpa:seen:${world.name}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) if ((await world.redis.sismember(key, jobId)) === 1) return true;
    } while (cursor !== '0');
    return false;
  }
});
