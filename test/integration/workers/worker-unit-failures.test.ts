import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listProcesses } from '../../../src/workers/process-tree.js';
import { waitFor } from '../../helpers/wait.js';
import { WorkerFixture } from './fixture.js';
import { jobFileStem } from '../../../src/workers/artifacts.js';

const fx = new WorkerFixture();

function alive(pid: number): boolean {
  return listProcesses().some((p) => p.pid === pid);
}

describe('WorkerUnit failure handling with real Chromium', () => {
  beforeAll(async () => {
    await fx.setUp();
  });

  afterAll(async () => {
    fx.portal.setLatencyMs(0);
    await fx.tearDown();
  });

  it('retries a job whose browser was SIGKILLed mid-job on a relaunched browser, and keeps serving', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 3, backoffMs: 100 });
    const { unit, events, jobs } = await fx.startUnit(queue);
    const pid = fx.browserPidOf(unit);

    // Hold the job inside a portal request so the kill lands mid-job.
    fx.portal.setLatencyMs(60_000);
    const requestsBefore = fx.portal.stats.requests;
    await fx.addJob(jobs, queue, { id: 'killed', documento: '13579' });
    await waitFor(() => unit.state === 'busy' && fx.portal.stats.requests > requestsBefore, { what: 'job in flight' });
    fx.portal.setLatencyMs(0); // the request in flight keeps its delay; the retry gets none
    process.kill(pid, 'SIGKILL');

    const entry = await fx.resultFor('killed');
    expect(entry).toMatchObject({ status: 'ok', attempts: 2, worker: unit.name, result: { documento: '13579' } });
    // The entry is written just before the unit reports the outcome: wait for the report too.
    await waitFor(() => events.finished.length === 2, { what: 'the second outcome' });
    expect(await fx.outcomes(events, 2)).toEqual(['retry', 'ok']);
    expect(events.restarts.map((r) => r.reason)).toEqual(['crash']);
    await waitFor(() => !alive(pid), { what: 'the killed browser to be gone' });
    expect(fx.browserPidOf(unit)).not.toBe(pid);

    await fx.addJob(jobs, queue, { id: 'after-kill', documento: '24680' });
    expect((await fx.resultFor('after-kill')).status).toBe('ok');
    // The entry is written before the job returns: the unit is ready again just after.
    await waitFor(() => unit.state === 'ready', { what: 'the unit ready again' });
  });

  it('fails an attempt over its timeout, closes the page and serves the next job on a fresh one', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 1, timeoutSeconds: 8 });
    const { unit, events, jobs } = await fx.startUnit(queue);
    await fx.addJob(jobs, queue, { id: 'warm-up', documento: '11111' });
    expect((await fx.resultFor('warm-up')).status).toBe('ok');
    await waitFor(() => unit.state === 'ready', { what: 'unit ready' });
    const pageBefore = events.pages.at(-1);
    if (!pageBefore) throw new Error('the warm-up job ran without a page');

    fx.portal.setLatencyMs(30_000);
    const jobId = await fx.addJob(jobs, queue, { id: 'slow', documento: '22222' });
    const entry = await fx.resultFor('slow');
    fx.portal.setLatencyMs(0);

    expect(entry.status).toBe('error');
    expect(entry.attempts).toBe(1);
    expect(entry.error).toMatchObject({ name: 'JobTimeoutError', permanent: false });
    expect(entry.error?.message).toContain('job exceeded its timeout of 8000 ms');
    expect(entry.durationMs).toBeGreaterThanOrEqual(8000);
    expect(entry.durationMs).toBeLessThan(20_000); // cut short, not waiting out the portal's 30 s
    expect(entry.error?.artifacts?.screenshot).toBe(
      `${fx.artifactsDir}/${queue.name}/${jobFileStem(jobId)}-attempt1.png`,
    );
    const note = JSON.parse(
      await fs.readFile(`${fx.artifactsDir}/${queue.name}/${jobFileStem(jobId)}-attempt1.json`, 'utf8'),
    ) as {
      url: string;
    };
    expect(note.url).toBe(entry.error?.artifacts?.url);
    expect(note.url).toContain('/conferencia'); // the page the slow navigation left from
    expect((await fs.stat(`${fx.artifactsDir}/${queue.name}/${jobFileStem(jobId)}-attempt1.png`)).size).toBeGreaterThan(
      0,
    );
    expect(pageBefore.isClosed()).toBe(true);

    await fx.addJob(jobs, queue, { id: 'after-timeout', documento: '33333' });
    expect(await fx.resultFor('after-timeout')).toMatchObject({ status: 'ok', attempts: 1 });
    expect(await fx.outcomes(events, 3)).toEqual(['ok', 'error', 'ok']);
    expect(events.pages.at(-1)).not.toBe(pageBefore);
    expect(events.restarts).toEqual([]); // one browser throughout
  });

  it('recycles the browser after the configured number of jobs', async () => {
    const byCount = fx.queueConfig('conferencia');
    const counted = await fx.startUnit(byCount, { browser: fx.browserConfig({ recycleAfterJobs: 2 }) });
    for (const id of ['r1', 'r2', 'r3']) {
      await fx.addJob(counted.jobs, byCount, { id, documento: '12121' });
      expect((await fx.resultFor(id)).status).toBe('ok');
    }
    expect(counted.events.restarts).toEqual([{ reason: 'jobs', detail: 'reciclado após 2 jobs' }]);
  });

  it('a small maxMemoryMb recycles the browser between jobs, on its whole process tree, with no failed job', async () => {
    // Every tree (browser, zygotes, renderer, GPU, network) is far above 40 MB: each job ends in a recycle.
    const queue = fx.queueConfig('conferencia', { attempts: 1 });
    const { unit, events, jobs } = await fx.startUnit(queue, { browser: fx.browserConfig({ maxMemoryMb: 40 }) });
    const ids = ['m1', 'm2', 'm3'];
    // Queued together: each next job is taken while the previous job's recycle is still running.
    for (const id of ids) await fx.addJob(jobs, queue, { id, documento: '34343' });
    for (const id of ids) expect(await fx.resultFor(id)).toMatchObject({ status: 'ok', attempts: 1 });

    expect(await fx.outcomes(events, 3)).toEqual(['ok', 'ok', 'ok']);
    await waitFor(() => events.restarts.length === ids.length, { what: 'a memory recycle after each job' });
    expect(events.restarts.map((r) => r.reason)).toEqual(['memory', 'memory', 'memory']);
    for (const { detail } of events.restarts) {
      const measured = Number(/^memória (\d+) MB acima do limite de 40 MB \(PSS de (\d+) processos/.exec(detail)?.[1]);
      expect(measured, detail).toBeGreaterThan(40);
    }
    // The measure saw the renderer and the helpers, not just the browser process.
    expect(Math.min(...events.memory.map((m) => m.processes))).toBeGreaterThanOrEqual(4);
    await waitFor(
      () => {
        const pid = fx.findBrowserPidOf(unit);
        return events.restarts.length === ids.length && pid !== undefined && pid !== events.replacedPids.at(-1);
      },
      {
        what: 'the last relaunch',
      },
    );
    expect(unit.state).toBe('ready');
  });

  it('retire() lets the running job finish, then closes the worker and the browser', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 1 });
    const { unit, events, jobs } = await fx.startUnit(queue);
    const pid = fx.browserPidOf(unit);
    fx.portal.setLatencyMs(1500);
    const requestsBefore = fx.portal.stats.requests;
    await fx.addJob(jobs, queue, { id: 'during-retire', documento: '45454' });
    await waitFor(() => unit.state === 'busy' && fx.portal.stats.requests > requestsBefore, { what: 'job in flight' });
    fx.portal.setLatencyMs(0);
    const retiring = unit.retire();
    expect(unit.state).toBe('draining');
    expect(unit.retire()).toBe(retiring);
    await retiring;

    expect(unit.state).toBe('closed');
    expect((await fx.resultFor('during-retire')).status).toBe('ok');
    expect(events.states.map((s) => s.to)).toEqual(['ready', 'busy', 'draining', 'closed']);
    expect(alive(pid)).toBe(false);
  });

  it('forceClose() aborts the running flow at once', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 2, timeoutSeconds: 120 });
    const { unit, jobs } = await fx.startUnit(queue);
    fx.portal.setLatencyMs(60_000);
    const requestsBefore = fx.portal.stats.requests;
    await fx.addJob(jobs, queue, { id: 'forced', documento: '56565' });
    await waitFor(() => unit.state === 'busy' && fx.portal.stats.requests > requestsBefore, { what: 'job in flight' });
    fx.portal.setLatencyMs(0);
    const started = Date.now();
    await unit.forceClose();
    expect(unit.state).toBe('closed');
    expect(Date.now() - started).toBeLessThan(20_000);
    // Not the last attempt, so no result entry: the job runs again elsewhere.
    expect((await fx.results()).some((e) => e.id === 'forced')).toBe(false);
  });

  it('forceClose() on the last attempt: no error entry, counted as a retry, the job left for the stalled check', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 1, timeoutSeconds: 120 });
    const { unit, events, jobs } = await fx.startUnit(queue);
    const pid = fx.browserPidOf(unit);
    fx.portal.setLatencyMs(60_000);
    const requestsBefore = fx.portal.stats.requests;
    const jobId = await fx.addJob(jobs, queue, { id: 'forced-last', documento: '57575' });
    await waitFor(() => unit.state === 'busy' && fx.portal.stats.requests > requestsBefore, { what: 'job in flight' });
    fx.portal.setLatencyMs(0);
    await unit.forceClose();
    expect(unit.state).toBe('closed');
    await waitFor(() => !alive(pid), { what: 'the browser tree killed' });
    expect(await fx.outcomes(events, 1)).toEqual(['retry']);
    // Not failed by BullMQ either: still active under its lapsing lock, for the stalled check to return.
    expect(await (await jobs.getJob(jobId))?.getState()).toBe('active');
    expect((await fx.results()).some((e) => e.id === 'forced-last')).toBe(false);
  });

  it('waits for its launch turn: launches once given one (and gives it back), never when retired before it', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 1 });
    let grant: ((release: () => void) => void) | undefined;
    let released = 0;
    let stateAtRelease: string | undefined;
    const { unit, events, jobs } = fx.makeUnit(queue, {
      launchTurn: () =>
        new Promise((resolve) => {
          grant = resolve;
        }),
    });
    const starting = unit.start();
    await waitFor(() => grant !== undefined, { what: 'the unit asking for its turn' });
    expect(unit.state).toBe('starting');
    expect(fx.findBrowserPidOf(unit)).toBeUndefined(); // nothing launched before its turn
    grant?.(() => {
      released += 1;
      stateAtRelease = unit.state;
    });
    await starting;
    expect(unit.state).toBe('ready');
    expect(released).toBe(1);
    // Given back once the unit is ready, not when its browser is up: until then the queue's next
    // unit would see neither a launch under way nor a unit at work.
    expect(stateAtRelease).toBe('ready');
    fx.browserPidOf(unit);
    await fx.addJob(jobs, queue, { id: 'after-turn', documento: '58585' });
    expect((await fx.resultFor('after-turn')).status).toBe('ok');

    const other = fx.queueConfig('conferencia', { attempts: 1 });
    let asked: AbortSignal | undefined;
    const waiting = fx.makeUnit(other, {
      launchTurn: (signal) =>
        new Promise((resolve) => {
          asked = signal;
          signal.addEventListener('abort', () => resolve(undefined), { once: true });
        }),
    });
    const waitingStart = waiting.unit.start();
    await waitFor(() => asked !== undefined, { what: 'the second unit asking for its turn' });
    await waiting.unit.retire(); // cut before its turn came
    await waitingStart;
    expect(asked?.aborted).toBe(true);
    expect(waiting.unit.state).toBe('closed');
    expect(waiting.events.states.map((s) => s.to)).toEqual(['draining', 'closed']);
    expect(fx.findBrowserPidOf(waiting.unit)).toBeUndefined();
    expect(events.states.map((s) => s.to)).toContain('ready');
  });

  it('leaves no Chromium process behind', async () => {
    await Promise.all(fx.units.map((u) => u.retire()));
    await waitFor(() => fx.chromiumPids().length === 0, { timeoutMs: 15_000, what: 'no Chromium left' });
    const pgrep = listProcesses().filter((p) => p.cmdline.includes(`--rpa-test-suite=${fx.marker}`));
    expect(pgrep).toEqual([]);
  });
});
