import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventPoolHistory } from '../../helpers/pool-history.js';
import { HttpServer } from '../../../src/http/server.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import { requiredChromiumArgs, resolveExecutablePath } from '../../../src/workers/browser-launch.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { FakeStatusSource, queueStatus } from '../../helpers/fake-status.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { httpTestConfig } from './fixture.js';

const redisConfig = sharedRedisConfig();
const connection = { host: redisConfig.host, port: redisConfig.port };
const prefix = uniqueName('boardtest');
const AUTH = { user: 'operador', password: 'painel-secreto' };

describe('Bull Board in a real browser, behind the security headers and the cross-site guard', () => {
  let redis: Redis;
  let queue: Queue;
  let server: HttpServer;
  let browser: Browser | undefined;
  let url: string;
  let jobId: string;

  beforeAll(async () => {
    redis = new Redis(connection);
    queue = new Queue('conferencia', { connection, prefix });
    const worker = new Worker(
      'conferencia',
      () => {
        throw new Error('portal fora do ar');
      },
      { connection, prefix },
    );
    const job = await queue.add('conferencia', { id: 'para-reprocessar' }, { attempts: 1 });
    jobId = job.id ?? '';
    await waitFor(async () => (await queue.getJobState(jobId)) === 'failed', { what: 'job failed' });
    // No worker any more: a retried job stays waiting, where the test can see it.
    await worker.close();
    server = new HttpServer({
      config: httpTestConfig({ host: '127.0.0.1', auth: AUTH }),
      logger: captureLogger().logger,
      status: new FakeStatusSource([queueStatus('conferencia')]),
      ...(() => {
        const events = new ServiceEvents();
        return { events, history: new EventPoolHistory(events, ['conferencia', 'emissao']) };
      })(),
      queues: [queue],
      artifactsDir: 'artifacts',
    });
    ({ url } = await server.start());
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.close();
    await queue?.close();
    await deleteKeys(redis, `${prefix}:*`);
    redis?.disconnect();
  });

  it('retries a failed job from the board page', async () => {
    const executablePath = resolveExecutablePath('');
    browser = await chromium.launch({
      ...(executablePath ? { executablePath } : {}),
      args: [...new Set(['--no-sandbox', ...requiredChromiumArgs()])],
    });
    const context = await browser.newContext({ httpCredentials: { username: AUTH.user, password: AUTH.password } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    const refused: string[] = [];
    page.on('response', (res) => {
      if (res.status() === 403) refused.push(`${res.request().method()} ${res.url()}`);
    });

    await page.goto(`${url}/admin/queues/queue/conferencia?status=failed`);
    const card = page.getByText('portal fora do ar').first();
    await card.waitFor({ state: 'visible', timeout: 30_000 });
    // The job card's own retry is an unlabelled icon; "Retry all" on the failed tab retries this job.
    await page.getByRole('button', { name: 'Retry all' }).click();
    // The board may ask to confirm (a setting of its UI); click Confirm when it does.
    const confirm = page.getByRole('button', { name: 'Confirm' });
    await waitFor(
      async () => {
        if (await confirm.isVisible()) await confirm.click();
        return (await queue.getJobState(jobId)) === 'waiting';
      },
      { what: 'job retried from the board', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(refused).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
