/**
 * `npm run portal`: the demo portal alone. PORTAL_PORT (default 8080), PORTAL_HOST (127.0.0.1),
 * PORTAL_LATENCY_MS, PORTAL_MAX_CONCURRENT (requests served at once; beyond it they wait their turn;
 * 0 or unset: no limit), PORTAL_ERROR_RATE (0..1), PORTAL_SESSION_SECONDS.
 */
import { DEMO_PASSWORD, DEMO_USER, startPortal } from './server.js';

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a non-negative number, got "${raw}"`);
    process.exit(78);
  }
  return value;
}

const portal = await startPortal({
  port: numberFrom('PORTAL_PORT', 8080),
  host: process.env.PORTAL_HOST || '127.0.0.1',
  latencyMs: numberFrom('PORTAL_LATENCY_MS', 0),
  latencyJitterMs: numberFrom('PORTAL_LATENCY_JITTER_MS', 0),
  maxConcurrent: numberFrom('PORTAL_MAX_CONCURRENT', 0),
  errorRate: Math.min(1, numberFrom('PORTAL_ERROR_RATE', 0)),
  sessionLifetimeMs: numberFrom('PORTAL_SESSION_SECONDS', 1800) * 1000,
});
console.log(`Demo portal at ${portal.url} (user ${DEMO_USER} / password ${DEMO_PASSWORD})`);

function stop(): void {
  void portal.close().then(() => process.exit(0));
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
