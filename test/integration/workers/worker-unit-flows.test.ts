import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupDocument } from '../../../src/demo/portal/documents.js';
import { waitFor } from '../../helpers/wait.js';
import { WorkerFixture } from './fixture.js';
import { jobFileStem } from '../../../src/workers/artifacts.js';

const fx = new WorkerFixture();

function expectedStatus(documento: string): { situacao: string; atualizadoEm: string } {
  const found = lookupDocument(documento);
  if (found.kind !== 'found') throw new Error(`test document ${documento} is not known to the portal`);
  return { situacao: found.record.status, atualizadoEm: found.record.updatedOn };
}

describe('WorkerUnit with real Chromium against the demo portal', () => {
  beforeAll(async () => {
    await fx.setUp();
  });

  afterAll(async () => {
    await fx.tearDown();
  });

  it('runs conferência jobs on one kept page and writes what the portal showed', async () => {
    const queue = fx.queueConfig('conferencia');
    const { unit, events, jobs } = await fx.startUnit(queue);
    expect(unit.name).toBe(`Worker-${queue.name}-1`);
    expect(unit.state).toBe('ready');
    const loginsBefore = fx.portal.stats.logins;

    await fx.addJob(jobs, queue, { id: 'conf-1', documento: '12345' });
    await fx.addJob(jobs, queue, { id: 77, documento: 9876543 });
    const first = await fx.resultFor('conf-1');
    const second = await fx.resultFor(77);

    expect(first).toMatchObject({
      id: 'conf-1',
      queue: queue.name,
      status: 'ok',
      error: null,
      attempts: 1,
      worker: unit.name,
      result: { documento: '12345', ...expectedStatus('12345') },
    });
    expect(second).toMatchObject({
      id: 77,
      status: 'ok',
      result: { documento: '9876543', ...expectedStatus('9876543') },
    });
    expect(Date.parse(first.finishedAt) - Date.parse(first.startedAt)).toBe(first.durationMs);
    // One login for both jobs: the context and page survive between jobs.
    expect(fx.portal.stats.logins - loginsBefore).toBe(1);
    expect(events.restarts).toEqual([]); // one browser for both jobs
    await waitFor(() => unit.state === 'ready', { what: 'unit ready after its jobs' });
    expect(events.states.map((s) => s.to)).toEqual(['ready', 'busy', 'ready', 'busy', 'ready']);
    // The worker's BullMQ name is the unit's name (what Bull Board shows).
    const workers = (await jobs.getWorkers()) as { rawname?: string }[];
    expect(workers.map((w) => w.rawname?.split(':w:')[1])).toContain(unit.name);
    const [done] = await jobs.getJobs(['completed'], 0, 0);
    expect(done?.processedBy).toBe(unit.name);
  });

  it('runs an emissão job: protocol number in the entry and the receipt downloaded', async () => {
    const queue = fx.queueConfig('emissao');
    const { unit, jobs } = await fx.startUnit(queue);
    const jobId = await fx.addJob(jobs, queue, { documento: '55501234', tipo: 'segunda-via', observacoes: 'teste' });
    const entry = await fx.resultFor(jobId);
    expect(entry).toMatchObject({ id: jobId, status: 'ok', attempts: 1, worker: unit.name });
    const result = entry.result as { protocolo: string; comprovante: string; tipo: string };
    expect(result.protocolo).toMatch(/^PRT-\d{8}$/);
    expect(result.tipo).toBe('segunda-via');
    const receipt = await fs.readFile(result.comprovante, 'utf8');
    expect(receipt).toContain(`Protocolo: ${result.protocolo}`);
    expect(receipt).toContain('Documento: 55501234');
    expect(receipt).toContain('Tipo: Segunda via');
  });

  it('fails a wrong password permanently: one attempt, one error entry with artifacts', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 3 });
    const { events, jobs } = await fx.startUnit(queue, {
      portal: { url: fx.portal.url, user: 'demo', password: 'wrong-password' },
    });
    const failedBefore = fx.portal.stats.failedLogins;
    const jobId = await fx.addJob(jobs, queue, { id: 'bad-pass', documento: '12345' });
    const entry = await fx.resultFor('bad-pass');

    expect(entry.status).toBe('error');
    expect(entry.attempts).toBe(1);
    expect(entry.error?.permanent).toBe(true);
    expect(entry.error?.message).toMatch(/portal login refused.*Usuário ou senha inválidos.*RPA_USUARIO/);
    expect(entry.error?.artifacts?.url).toContain('/login');
    const screenshot = entry.error?.artifacts?.screenshot;
    expect(screenshot).toBe(`${fx.artifactsDir}/${queue.name}/${jobFileStem(jobId)}-attempt1.png`);
    expect((await fs.stat(screenshot ?? '')).size).toBeGreaterThan(0);

    // Read the job after it is failed: a hash read before the failing script ran would show attemptsMade 0.
    await waitFor(async () => (await jobs.getJob(jobId))?.isFailed());
    const job = await jobs.getJob(jobId);
    if (!job) throw new Error(`job ${jobId} is gone`);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('portal login refused');
    expect(job.failedReason).toContain(screenshot);
    expect(fx.portal.stats.failedLogins - failedBefore).toBe(1);
    expect(await fx.outcomes(events, 1)).toEqual(['error']);
    expect((await fx.results()).filter((e) => e.id === 'bad-pass')).toHaveLength(1);
  });

  it('logs in again when the portal session expired between jobs', async () => {
    const queue = fx.queueConfig('conferencia');
    const { jobs } = await fx.startUnit(queue);
    const loginsBefore = fx.portal.stats.logins;
    await fx.addJob(jobs, queue, { id: 'before-expiry', documento: '11112222' });
    expect((await fx.resultFor('before-expiry')).status).toBe('ok');
    expect(fx.portal.stats.logins - loginsBefore).toBe(1);

    fx.portal.expireSessions();
    await fx.addJob(jobs, queue, { id: 'after-expiry', documento: '33334444' });
    const entry = await fx.resultFor('after-expiry');
    expect(entry).toMatchObject({
      status: 'ok',
      attempts: 1,
      result: { documento: '33334444', ...expectedStatus('33334444') },
    });
    expect(fx.portal.stats.logins - loginsBefore).toBe(2);
  });

  it('retries HTTP 500 answers with exponential backoff, then succeeds', async () => {
    const queue = fx.queueConfig('conferencia', { attempts: 4, backoffMs: 300 });
    const { events, jobs } = await fx.startUnit(queue);
    fx.portal.failNext(2, '/conferencia');
    await fx.addJob(jobs, queue, { id: 'flaky', documento: '24680' });
    const entry = await fx.resultFor('flaky');

    expect(entry).toMatchObject({ status: 'ok', attempts: 3, result: expectedStatus('24680') });
    expect(fx.portal.pendingForcedFailures()).toBe(0);
    expect(await fx.outcomes(events, 3)).toEqual(['retry', 'retry', 'ok']);
    // Backoff: the 2nd attempt starts >= 300 ms after the 1st ended, the 3rd >= 600 ms after the 2nd.
    const states = events.states.slice(1); // skip the initial 'ready'
    const gaps: number[] = [];
    for (let i = 0; i + 1 < states.length; i++) {
      const [a, b] = [states[i], states[i + 1]];
      if (a?.to === 'ready' && b?.to === 'busy') gaps.push(b.at - a.at);
    }
    expect(gaps).toHaveLength(2);
    expect(gaps[0]).toBeGreaterThanOrEqual(280);
    expect(gaps[1]).toBeGreaterThanOrEqual(580);
    expect((await fx.results()).filter((e) => e.id === 'flaky')).toHaveLength(1);
  });

  it('runs the echo flow without a browser', async () => {
    const queue = fx.queueConfig('echo');
    const before = fx.chromiumPids().length;
    const { events, jobs } = await fx.startUnit(queue);
    expect(fx.chromiumPids().length).toBe(before);
    await fx.addJob(jobs, queue, { id: 'echo-1', sleepMs: 50, hello: 'world' });
    const entry = await fx.resultFor('echo-1');
    expect(entry).toMatchObject({ status: 'ok', result: { id: 'echo-1', sleepMs: 50, hello: 'world' } });
    expect(entry.durationMs).toBeGreaterThanOrEqual(50);
    expect(events.pages).toEqual([null]);
  });

  it('a missing payload field fails permanently with a clear message', async () => {
    const queue = fx.queueConfig('emissao', { attempts: 3 });
    const { jobs } = await fx.startUnit(queue);
    await fx.addJob(jobs, queue, { id: 'no-tipo', documento: '12345' });
    const entry = await fx.resultFor('no-tipo');
    expect(entry).toMatchObject({ status: 'error', attempts: 1 });
    expect(entry.error?.message).toContain('emissao: the payload has no "tipo" field');
  });

  it('leaves no Chromium process behind once its units are closed', async () => {
    expect(fx.chromiumPids().length).toBeGreaterThan(0);
    await Promise.all(fx.units.map((u) => u.retire()));
    for (const unit of fx.units) expect(unit.state).toBe('closed');
    await waitFor(() => fx.chromiumPids().length === 0, { timeoutMs: 15_000, what: 'no Chromium left' });
  });
});
