/**
 * Takes docs/dashboard-after-restart.png: the dashboard of a service started after another one
 * ran, showing the history from before the restart. A real run: a private Redis, the demo portal
 * (with a few transient errors), `node dist/main.js` running the conferência and emissão flows in
 * Chromium; four waves of items, SIGTERM while the last is being worked on, a pause, a new process
 * (a new instance id, as a restarted container gets) that drains the rest and one more wave, then
 * Chromium opens the new process's dashboard ("since the last burst": both runs).
 *
 *     npm run build && npx tsx scripts/dashboard-after-restart.ts [out.png]
 *
 * Takes about six minutes. Needs redis-server and Chromium, like `npm run demo`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { chromium } from 'playwright';
import { startPortal } from '../src/demo/portal/server.js';
import { startPrivateRedis, spareLoopbackPort } from '../src/dev/private-redis.js';
import { requiredChromiumArgs, resolveExecutablePath } from '../src/workers/browser-launch.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { waitFor } from '../test/helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs', 'dashboard-after-restart.png'));
const say = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** conferência items: every 12th document is "not found" (a permanent failure). */
function conferencia(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return JSON.stringify({ id: `doc-${n}`, documento: n % 12 === 0 ? `404${10_000 + n}` : String(12_345_000 + n) });
  });
}

function emissao(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: `em-${from + i}`, documento: String(87_654_000 + from + i), tipo: 'certidao' }),
  );
}

const redisServer = await startPrivateRedis();
const portal = await startPortal({
  port: 0,
  host: '127.0.0.1',
  latencyMs: 150,
  errorRate: 0.04,
  sessionLifetimeMs: 1_800_000,
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-restart-'));
const redis = new Redis({ host: '127.0.0.1', port: redisServer.port });
const httpPort = await spareLoopbackPort();
const configFile = path.join(dir, 'config.json');
fs.writeFileSync(
  configFile,
  JSON.stringify({
    scaler: { intervalSeconds: 5, stabilizationSeconds: 10 },
    jobs: { backoffMs: 1000 },
    artifactsDir: path.join(dir, 'artifacts'),
    log: { file: '' },
  }),
);
const env = {
  CONFIG_FILE: configFile,
  REDIS_PORT: String(redisServer.port),
  HTTP_PORT: String(httpPort),
  PORTAL_URL: portal.url,
  RPA_USUARIO: 'demo',
  RPA_SENHA: 'demo123',
  ...(process.env.BROWSER_EXECUTABLE_PATH ? { BROWSER_EXECUTABLE_PATH: process.env.BROWSER_EXECUTABLE_PATH } : {}),
};
let service: ServiceProcess | undefined;
const results = async (n: number, timeoutMs: number): Promise<void> =>
  void (await waitFor(async () => (await redis.llen('fila:resultado')) >= n, { timeoutMs, what: `${n} results` }));

try {
  say(`Redis on ${redisServer.port}, portal at ${portal.url}; first run`);
  service = new ServiceProcess(env);
  await service.waitForLine(/serviço pronto/, 120_000);
  // Waves 40 s apart, so the charts have a few minutes of work before the restart; the last one
  // is still being worked on when the service stops (a deploy in the middle of a burst).
  let pushed = 0;
  for (const [i, size] of [80, 120, 60, 150].entries()) {
    await redis.rpush('fila:conferencia', ...conferencia(pushed, size));
    if (i === 0) await redis.rpush('fila:emissao', ...emissao(0, 4));
    pushed += size + (i === 0 ? 4 : 0);
    say(`wave ${i + 1}: ${size} items`);
    await new Promise((r) => setTimeout(r, i < 3 ? 40_000 : 15_000));
  }
  say(`stopping the service (SIGTERM) with ${await redis.llen('fila:conferencia')} items not bridged yet`);
  const first = await service.stop('SIGTERM');
  say(`stopped (exit ${first.code}); a pause, then a new process`);
  await new Promise((r) => setTimeout(r, 30_000));
  service = new ServiceProcess(env);
  await service.waitForLine(/serviço pronto/, 120_000);
  await new Promise((r) => setTimeout(r, 20_000));
  await redis.rpush('fila:conferencia', ...conferencia(pushed, 50));
  pushed += 50;
  await results(pushed, 300_000);
  await new Promise((r) => setTimeout(r, 20_000));
  say('after the restart: taking the picture');

  const executablePath = resolveExecutablePath('');
  const browser = await chromium.launch({
    ...(executablePath ? { executablePath } : {}),
    args: [...new Set(['--no-sandbox', ...requiredChromiumArgs()])],
  });
  try {
    // Tall enough for the KPIs, the instances and conferência's charts.
    const page = await browser.newPage({ viewport: { width: 1280, height: 1750 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    // "Since the last burst": the work of both runs, zoomed to it.
    await page
      .locator('#window')
      .filter({ hasText: /^desde o último pico: / })
      .waitFor();
    // The charts drawn, the instance gone listed with its work.
    await page
      .locator('#instances-gone')
      .filter({ hasText: /concluído/ })
      .waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1000);
    await page.screenshot({ path: out });
    if (errors.length > 0) throw new Error(`console errors: ${errors.join('; ')}`);
  } finally {
    await browser.close();
  }
  say(`written ${out}`);
} finally {
  await service?.stop('SIGTERM');
  redis.disconnect();
  await portal.close();
  await redisServer.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
