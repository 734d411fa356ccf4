/**
 * `npm run demo`: the whole system on one machine (see demo-runner.ts). Options by env, the
 * service's own names first, `DEMO_*` overriding them for the demo alone:
 * DEMO_CONFERENCIA (322), DEMO_EMISSAO (3), the service's Redis settings (REDIS_URL or REDIS_HOST /
 * REDIS_PORT / REDIS_PASSWORD, REDIS_USERNAME, TLS, Sentinel, REDIS_PREFIX),
 * REDIS_DB (0; DEMO_REDIS_DB overrides), HTTP_PORT (3000; DEMO_HTTP_PORT overrides), PORTAL_PORT
 * (a free one; DEMO_PORTAL_PORT overrides), LOG_FILE (logs/demo.log), DEMO_KEEP_RUNNING=1 (stay up
 * after the summary until Ctrl-C), DEMO_ALLOW_OTHER_DATA=1 or `--allow-other-data` (use a
 * database that holds keys not rpa-pool's). Ctrl-C stops everything cleanly; a second Ctrl-C kills what is left.
 * Exit: 0 when the run completed or was stopped by the user and everything stopped cleanly; 1 when
 * the service failed or did not stop cleanly; 78 for a malformed option; 69 when redis-server or
 * Chromium is missing. With no Redis answering at a loopback REDIS_HOST, a private one runs for the
 * demo's duration (src/dev/dev-environment.ts).
 */
import path from 'node:path';
import { runInDevEnvironment } from '../dev/dev-environment.js';
import { DemoRunner } from './demo-runner.js';
import { demoConfig, DemoEnvError, flagFromEnv, intFromEnv } from './env.js';
import { DEFAULT_CONFERENCIA_COUNT, DEFAULT_EMISSAO_COUNT, newRunId } from './poller.js';
import { DemoSetupError } from './preflight.js';
import { StatusLine } from './status-line.js';

const output = new StatusLine();
const stop = new AbortController();
let runner: DemoRunner | undefined;

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function onSignal(signal: NodeJS.Signals): void {
  if (!stop.signal.aborted) {
    output.endStatus();
    output.line(`${signal}: stopping the demo (again to kill everything at once) ...`);
    stop.abort();
    return;
  }
  output.line(`${signal} again: killing the service and its browsers.`);
  void runner?.close(true);
}

async function main(): Promise<number> {
  const rootDir = path.resolve(import.meta.dirname, '../..');
  let options;
  try {
    const config = demoConfig();
    const redis = { ...config.redis, db: intFromEnv('DEMO_REDIS_DB', config.redis.db) };
    options = {
      runId: newRunId(),
      conferenciaCount: intFromEnv('DEMO_CONFERENCIA', DEFAULT_CONFERENCIA_COUNT),
      emissaoCount: intFromEnv('DEMO_EMISSAO', DEFAULT_EMISSAO_COUNT),
      redis,
      httpPort: intFromEnv('DEMO_HTTP_PORT', config.http.port, 1),
      portalPort: intFromEnv('DEMO_PORTAL_PORT', intFromEnv('PORTAL_PORT', 0)),
      keepRunning: flagFromEnv('DEMO_KEEP_RUNNING'),
      allowOtherData: flagFromEnv('DEMO_ALLOW_OTHER_DATA') || process.argv.includes('--allow-other-data'),
      logFile: path.resolve(rootDir, process.env.LOG_FILE?.trim() || path.join('logs', 'demo.log')),
      rootDir,
      output,
    };
  } catch (err) {
    if (err instanceof DemoEnvError) {
      console.error(err.message);
      return 78;
    }
    throw err;
  }

  const startedAt = Date.now();
  runner = new DemoRunner(options);
  let failed = false;
  try {
    const outcome = await runner.run(stop.signal);
    failed = outcome.serviceFailed;
  } catch (err) {
    output.endStatus();
    if (err instanceof DemoSetupError) {
      console.error(err.message);
    } else {
      console.error(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    failed = true;
  } finally {
    const exit = await runner.close();
    if (exit && !failed) {
      if (exit.code === 0) {
        output.line(`Service stopped (exit 0). Demo took ${Math.round((Date.now() - startedAt) / 1000)} s end to end.`);
      } else {
        output.line(`The service did not stop cleanly (${exit.signal ?? `exit ${exit.code}`}); see ${options.logFile}`);
        failed = true;
      }
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await runInDevEnvironment({ purpose: 'npm run demo', say: (line) => output.line(line) }, main);
