/**
 * The result write is its own step: a write that fails or loses its reply after a successful
 * flow neither runs the flow again nor writes a second entry, and a job that comes back after its
 * entry was written (its completion never reached BullMQ) is settled with the stored outcome.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Flow } from '../../../src/flows/flow.js';
import { PermanentJobError } from '../../../src/lib/errors.js';
import type { ResultEntry } from '../../../src/workers/result-entry.js';
import { ResultWriteAbortedError, ResultWriter, resultMarkerKey, runOf } from '../../../src/workers/result-writer.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { deleteKeys, uniqueName } from '../../helpers/redis.js';
import { ReplyDroppingProxy } from '../../helpers/reply-dropping-proxy.js';
import { waitFor } from '../../helpers/wait.js';
import { WorkerFixture } from './fixture.js';

const fx = new WorkerFixture();
const lists: string[] = [];

/** A flow without browser that counts its runs and returns its payload. */
function countingFlow(): { flow: Flow; runs: () => number } {
  let runs = 0;
  return {
    flow: {
      name: 'echo',
      needsBrowser: false,
      run: (ctx) => {
        runs += 1;
        return Promise.resolve({ echoed: ctx.data.id, run: runs });
      },
    },
    runs: () => runs,
  };
}

function ownResultList(): string {
  const list = uniqueName('results');
  lists.push(list);
  return list;
}

async function entriesOf(list: string): Promise<ResultEntry[]> {
  return (await fx.redis.lrange(list, 0, -1)).map((line) => JSON.parse(line) as ResultEntry);
}

describe('result write', () => {
  beforeAll(async () => {
    await fx.setUp();
  });

  afterAll(async () => {
    for (const list of lists) await fx.redis.del(list);
    await deleteKeys(fx.redis, `${fx.redisConfig.prefix}:rpa:result:*`);
    await fx.tearDown();
  });

  it('a write that fails after a successful flow is retried: the flow ran once, one entry', async () => {
    const resultList = ownResultList();
    const queue = fx.queueConfig('echo', { attempts: 3, backoffMs: 0, resultList });
    const { flow, runs } = countingFlow();
    const { logger, lines } = captureLogger();
    // A string where the list should be: RPUSH fails (WRONGTYPE) until it is removed.
    await fx.redis.set(resultList, 'not a list');
    const { jobs, events } = await fx.startUnit(queue, { flow, logger });
    const jobId = await fx.addJob(jobs, queue, { id: 'write-fails-once' });

    const writeFailed = () => lines.some((l) => l.message.includes('não foi possível gravar'));
    await waitFor(() => writeFailed() || runs() > 1, { what: 'a failed result write (or a second run)' });
    expect(runs()).toBe(1);
    await fx.redis.del(resultList);

    await waitFor(async () => (await jobs.getJobState(jobId)) === 'completed', { what: 'the job to complete' });
    const entries = await entriesOf(resultList);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ id: 'write-fails-once', status: 'ok', attempts: 1, result: { run: 1 } });
    expect(runs()).toBe(1);
    expect(await fx.outcomes(events, 1)).toEqual(['ok']);
  });

  it("the last attempt's error entry is retried too: one entry, one run", async () => {
    const resultList = ownResultList();
    const queue = fx.queueConfig('echo', { attempts: 1, backoffMs: 0, resultList });
    let runs = 0;
    const flow: Flow = {
      name: 'echo',
      needsBrowser: false,
      run: () => {
        runs += 1;
        return Promise.reject(new PermanentJobError('documento recusado'));
      },
    };
    const { logger, lines } = captureLogger();
    await fx.redis.set(resultList, 'not a list');
    const { jobs } = await fx.startUnit(queue, { flow, logger });
    const jobId = await fx.addJob(jobs, queue, { id: 'error-write-fails' });
    await waitFor(() => lines.some((l) => /não foi possível gravar/i.test(l.message)), {
      what: 'a failed result write',
    });
    await fx.redis.del(resultList);
    await waitFor(async () => (await jobs.getJobState(jobId)) === 'failed', { what: 'the job to fail' });
    const entries = await entriesOf(resultList);
    expect(entries.map((e) => [e.id, e.status, e.error?.message])).toEqual([
      ['error-write-fails', 'error', 'documento recusado'],
    ]);
    expect(runs).toBe(1);
  });

  it('a forced close gives the write up: no entry, the job stays for the stalled check and runs again', async () => {
    const resultList = ownResultList();
    const queue = fx.queueConfig('echo', { attempts: 3, backoffMs: 0, resultList });
    const { flow, runs } = countingFlow();
    const { logger, lines } = captureLogger();
    await fx.redis.set(resultList, 'not a list');
    // Short lock and stalled check (BullMQ runs one check per queue per interval, whichever worker).
    const first = await fx.startUnit(queue, { flow, logger, lockDurationMs: 2000, stalledIntervalMs: 500 });
    const jobId = await fx.addJob(first.jobs, queue, { id: 'forced-mid-write' });
    await waitFor(() => lines.some((l) => l.message.includes('não foi possível gravar')), {
      what: 'a failed result write',
    });
    await first.unit.forceClose();
    expect(await fx.outcomes(first.events, 1)).toEqual(['retry']);
    expect(await first.jobs.getJobState(jobId)).toBe('active');
    await fx.redis.del(resultList);

    // The write never landed: the job runs again (at least once), and writes one entry.
    const second = await fx.startUnit(queue, { flow, stalledIntervalMs: 500 });
    await waitFor(async () => (await second.jobs.getJobState(jobId)) === 'completed', {
      what: 'the job to complete on the second unit',
      timeoutMs: 30_000,
    });
    expect(runs()).toBe(2);
    expect((await entriesOf(resultList)).map((e) => [e.id, e.worker])).toEqual([
      ['forced-mid-write', second.unit.name],
    ]);
  });

  it('a write whose reply is lost (the write landed) leaves one entry and one flow run', async () => {
    const resultList = ownResultList();
    const queue = fx.queueConfig('echo', { attempts: 3, backoffMs: 0, resultList });
    const proxy = await ReplyDroppingProxy.start({ host: fx.redisConfig.host, port: fx.redisConfig.port });
    try {
      const { flow, runs } = countingFlow();
      proxy.dropNextReplyTo(resultList);
      const { jobs } = await fx.startUnit(queue, { flow, redis: { ...fx.redisConfig, port: proxy.port } });
      const jobId = await fx.addJob(jobs, queue, { id: 'reply-lost' });

      await waitFor(async () => (await jobs.getJobState(jobId)) === 'completed', { what: 'the job to complete' });
      expect(proxy.dropped).toBe(1);
      const entries = await entriesOf(resultList);
      expect(entries.map((e) => e.id)).toEqual(['reply-lost']);
      expect(runs()).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('a job back after its entry was written (completion lost) is settled with it, never run again', async () => {
    const resultList = ownResultList();
    const queue = fx.queueConfig('echo', { attempts: 3, backoffMs: 0, resultList });
    const { flow, runs } = countingFlow();
    // An attempt that wrote its entry and died before BullMQ recorded the completion: a bare
    // Worker takes the job (short lock), the entry is written for its run, the job is left active.
    const bareConnection = new Redis({ ...fx.redisConfig, maxRetriesPerRequest: null });
    const bare = new Worker(queue.name, null, {
      connection: bareConnection,
      prefix: fx.redisConfig.prefix,
      autorun: false,
      lockDuration: 1000,
    });
    const writerConnection = new Redis({ ...fx.redisConfig });
    try {
      const producer = new Queue(queue.name, { connection: fx.redis, prefix: fx.redisConfig.prefix });
      const jobId = await fx.addJob(producer, queue, { id: 'completion-lost' });
      await producer.close();
      const job = await bare.getNextJob(randomUUID());
      if (!job) throw new Error('the bare worker took no job');
      const writer = new ResultWriter({
        redis: writerConnection,
        prefix: fx.redisConfig.prefix,
        resultList,
        markerTtlSeconds: 3600,
        logger: captureLogger().logger,
      });
      const input = {
        data: { id: 'completion-lost' },
        jobId,
        queue: queue.name,
        worker: 'Worker-dead-1',
        attempts: 1,
        startedAtMs: Date.now(),
        finishedAtMs: Date.now(),
        outcome: { status: 'ok' as const, result: { stored: true } },
      };
      expect(await writer.write(input, runOf(job))).toBe('written');
      await bare.close(true);

      // The unit's stalled check returns the job to waiting once the lock lapses; the unit takes it.
      const { jobs } = await fx.startUnit(queue, { flow, stalledIntervalMs: 500, lockDurationMs: 5000 });
      await waitFor(async () => (await jobs.getJobState(jobId)) === 'completed', {
        what: 'the job to complete',
        timeoutMs: 30_000,
      });
      const done = await jobs.getJob(jobId);
      expect(done?.returnvalue).toEqual({ stored: true });
      expect(runs()).toBe(0);
      expect((await entriesOf(resultList)).map((e) => e.worker)).toEqual(['Worker-dead-1']);
    } finally {
      await bare.close(true).catch(() => undefined);
      bareConnection.disconnect();
      writerConnection.disconnect();
    }
  });
});

describe('ResultWriter', () => {
  const redis = new Redis({ ...fx.redisConfig });
  const prefix = `test-${randomUUID().slice(0, 8)}`;

  afterAll(async () => {
    for (const list of lists) await redis.del(list);
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  function writerFor(resultList: string, logger = captureLogger().logger): ResultWriter {
    return new ResultWriter({
      redis,
      prefix,
      resultList,
      markerTtlSeconds: 7200,
      logger,
      retryMinMs: 20,
      retryMaxMs: 50,
    });
  }

  const input = (jobId: string, status: 'ok' | 'error' = 'ok') => ({
    data: { id: 'w' },
    jobId,
    queue: 'q',
    worker: 'Worker-q-1',
    attempts: 1,
    startedAtMs: 1000,
    finishedAtMs: 2000,
    outcome:
      status === 'ok'
        ? { status: 'ok' as const, result: { n: 1 } }
        : { status: 'error' as const, error: new Error('boom'), permanent: true },
  });

  it('writes once per run of a job; an operator retry or a new job with the id is a new run', async () => {
    const list = ownResultList();
    const writer = writerFor(list);
    const run = { createdAtMs: 111, attemptsMade: 0 };
    expect(await writer.write(input('once'), run)).toBe('written');
    expect(await writer.write(input('once'), run)).toBe('already-written');
    expect(await redis.llen(list)).toBe(1);
    expect(await writer.recorded('q', 'once', run)).toMatchObject({ id: 'w', status: 'ok', result: { n: 1 } });
    // The job finished (BullMQ counted the attempt) and was retried by an operator: a new run.
    expect(await writer.recorded('q', 'once', { createdAtMs: 111, attemptsMade: 1 })).toBeUndefined();
    expect(await writer.write(input('once', 'error'), { createdAtMs: 111, attemptsMade: 1 })).toBe('written');
    // The job was removed and an item with the same id made a new job.
    expect(await writer.write(input('once'), { createdAtMs: 222, attemptsMade: 0 })).toBe('written');
    expect(await redis.llen(list)).toBe(3);
  });

  it("keeps the marker for its configured time (the whole completed job's retention in the units)", async () => {
    const list = ownResultList();
    const writer = writerFor(list);
    const run = { createdAtMs: 1, attemptsMade: 0 };
    await writer.write(input('ttl', 'error'), run);
    const ttl = await redis.pttl(resultMarkerKey(prefix, 'q', 'ttl', run));
    expect(ttl).toBeGreaterThan(7100 * 1000);
    expect(ttl).toBeLessThanOrEqual(7200 * 1000);
  });

  it('a refused write sets no marker, is retried, and gives up only when its signal aborts', async () => {
    const list = ownResultList();
    const { logger, lines } = captureLogger();
    const writer = writerFor(list, logger);
    await redis.set(list, 'not a list');
    const controller = new AbortController();
    const run = { createdAtMs: 5, attemptsMade: 0 };
    const writing = writer.write(input('refused'), run, controller.signal);
    const failures = () => lines.filter((l) => l.message.includes('não foi possível gravar')).length;
    await waitFor(() => failures() >= 3, { what: 'refused writes, tried again' });
    expect(await redis.exists(resultMarkerKey(prefix, 'q', 'refused', run))).toBe(0);
    controller.abort(new Error('forced'));
    await expect(writing).rejects.toBeInstanceOf(ResultWriteAbortedError);
    await redis.del(list);
    expect(await writer.write(input('refused'), run)).toBe('written');
    expect(await redis.llen(list)).toBe(1);
  });
});
