import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushScenario, runIdPrefix } from '../../../src/demo/poller.js';
import type { DemoOutput } from '../../../src/demo/status-line.js';
import { DemoWriter, reportLines } from '../../../src/demo/writer.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const base = uniqueName('demo');
const { host, port } = sharedRedisConfig();

function result(id: string, queue: string, status: 'ok' | 'error' = 'ok'): string {
  return JSON.stringify({
    id,
    queue,
    status,
    result: status === 'ok' ? { documento: '1' } : null,
    error: status === 'ok' ? null : { name: 'Error', message: `failed ${id}`, permanent: true },
    attempts: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:00.001Z',
    durationMs: 1,
    worker: `Worker-${queue}-1`,
  });
}

class MemoryOutput implements DemoOutput {
  readonly lines: string[] = [];
  readonly statuses: string[] = [];
  line(text: string): void {
    this.lines.push(text);
  }
  status(text: string): void {
    this.statuses.push(text);
  }
  endStatus(): void {}
}

describe('demo poller and writer (shared Redis, random list names)', () => {
  let redis: Redis;
  let blocking: Redis;

  beforeAll(() => {
    redis = new Redis({ host, port });
    blocking = new Redis({ host, port, maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${base}:*`);
    redis.disconnect();
    blocking.disconnect();
  });

  it('pushes the scenario FIFO as JSON objects, in batches, to the named lists', async () => {
    const conferenciaList = `${base}:conf`;
    const emissaoList = `${base}:emis`;
    await redis.rpush(conferenciaList, 'operator-item'); // never touched
    const pushed = await pushScenario(redis, {
      runId: 'p1',
      conferenciaCount: 1234,
      emissaoCount: 3,
      conferenciaList,
      emissaoList,
      batchSize: 100,
    });
    expect(pushed).toMatchObject({ runId: 'p1', conferencia: 1234, emissao: 3 });
    expect(pushed.ids).toHaveLength(1237);
    const conf = await redis.lrange(conferenciaList, 0, -1);
    expect(conf).toHaveLength(1235);
    expect(conf[0]).toBe('operator-item');
    const ids = conf.slice(1).map((raw) => (JSON.parse(raw) as { id: string }).id);
    expect(ids).toEqual(pushed.ids.slice(0, 1234));
    const emis = (await redis.lrange(emissaoList, 0, -1)).map((raw) => JSON.parse(raw) as Record<string, unknown>);
    expect(emis.map((e) => e.id)).toEqual(['demo-p1-emis-1', 'demo-p1-emis-2', 'demo-p1-emis-3']);
    expect(emis.every((e) => typeof e.documento === 'string' && typeof e.tipo === 'string')).toBe(true);
  });

  it('drains results until the total of this run arrived, handing other entries to onForeign', async () => {
    const list = `${base}:res1`;
    const prefix = runIdPrefix('w1');
    await redis.rpush(list, result('demo-old-conf-1', 'conferencia'), 'not json');
    const foreign: string[] = [];
    const output = new MemoryOutput();
    const writer = new DemoWriter(blocking, {
      list,
      total: 5,
      idPrefix: prefix,
      onForeign: (raw) => foreign.push(raw),
      output,
      tickMs: 50,
    });
    const running = writer.run();
    await redis.rpush(list, result(`${prefix}conf-1`, 'conferencia'), result(`${prefix}conf-2`, 'conferencia'));
    await waitFor(() => writer.snapshot().done === 2, { what: 'two results counted' });
    await redis.rpush(
      list,
      result(`${prefix}conf-3`, 'conferencia', 'error'),
      result(`${prefix}emis-1`, 'emissao'),
      result(`${prefix}conf-4`, 'conferencia'),
      result(`${prefix}conf-5`, 'conferencia'), // beyond the total: left for later
    );
    const report = await running;
    expect(report).toMatchObject({ complete: true, total: 5, done: 5, ok: 4, errors: 1, foreign: 2 });
    expect(report.byQueue).toEqual({ conferencia: 4, emissao: 1 });
    expect(report.firstErrors).toEqual([`${prefix}conf-3: failed ${prefix}conf-3`]);
    expect(foreign).toEqual([result('demo-old-conf-1', 'conferencia'), 'not json']);
    expect(await redis.lrange(list, 0, -1)).toEqual([result(`${prefix}conf-5`, 'conferencia')]);
    expect(output.statuses.at(-1)).toMatch(/^5\/5 done \(100%\) · \d+ jobs\/min · 1 error · /);
    const summary = reportLines(report).join('\n');
    expect(summary).toMatch(/results: +5 of 5/);
    expect(summary).toMatch(/by queue: +4 conferencia, 1 emissao/);
    expect(summary).toMatch(/not this run's: 2/);
  });

  it('stops on abort within about the BLPOP timeout, reporting what it got', async () => {
    const list = `${base}:res2`;
    const writer = new DemoWriter(blocking, { list, total: 10, blockSeconds: 1 });
    const stop = new AbortController();
    const running = writer.run(stop.signal);
    await redis.rpush(list, result('x-1', 'conferencia'));
    await waitFor(() => writer.snapshot().done === 1, { what: 'one result counted' });
    const abortedAt = Date.now();
    stop.abort();
    const report = await running;
    // It ends with the BLPOP under way (1 s), not after the 9 results that never come; the bound is
    // loose because a loaded CI run once took 6 s (a timing bound here is a check, not a target).
    expect(Date.now() - abortedAt).toBeLessThan(15_000);
    expect(report).toMatchObject({ complete: false, done: 1, total: 10 });
  });

  it('runs unbounded until aborted', async () => {
    const list = `${base}:res3`;
    const writer = new DemoWriter(blocking, { list });
    const stop = new AbortController();
    const running = writer.run(stop.signal);
    await redis.rpush(list, ...Array.from({ length: 50 }, (_, i) => result(`u-${i}`, 'emissao')));
    await waitFor(() => writer.snapshot().done === 50, { what: '50 results counted' });
    stop.abort();
    expect(await running).toMatchObject({ complete: false, done: 50, total: undefined });
  });
});
