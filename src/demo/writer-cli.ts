/**
 * The demo writer alone: drains fila:resultado with progress, prints a summary. It expects
 * DEMO_CONFERENCIA + DEMO_EMISSAO results (defaults 322 + 3) and exits when they arrived;
 * DEMO_WRITER_UNBOUNDED=1 keeps it running until SIGINT / SIGTERM (as in docker). DEMO_RUN_ID
 * counts only that run's results (default: every entry). REDIS_HOST / REDIS_PORT / REDIS_DB /
 * REDIS_PASSWORD.
 */
import { Redis } from 'ioredis';
import { demoRedisOptions, DemoEnvError, flagFromEnv, intFromEnv, redisTargetFromEnv, describeTarget } from './env.js';
import { DEFAULT_CONFERENCIA_COUNT, DEFAULT_EMISSAO_COUNT, runIdPrefix } from './poller.js';
import { StatusLine } from './status-line.js';
import { DemoWriter, reportLines } from './writer.js';

let redis: Redis | undefined;
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
try {
  const target = redisTargetFromEnv();
  const total = flagFromEnv('DEMO_WRITER_UNBOUNDED')
    ? undefined
    : intFromEnv('DEMO_CONFERENCIA', DEFAULT_CONFERENCIA_COUNT) + intFromEnv('DEMO_EMISSAO', DEFAULT_EMISSAO_COUNT);
  const runId = process.env.DEMO_RUN_ID?.trim();
  redis = new Redis(demoRedisOptions(target, true));
  let lastError = '';
  redis.on('error', (err: Error) => {
    const message = (err as NodeJS.ErrnoException).code ?? err.message;
    if (message !== lastError) console.error(`demo writer: Redis at ${describeTarget(target)}: ${message}; retrying`);
    lastError = message;
  });
  redis.on('ready', () => (lastError = ''));
  const output = new StatusLine();
  output.line(
    `Demo writer: draining fila:resultado at ${describeTarget(target)}` +
      (total === undefined ? ' until stopped' : `, expecting ${total} results`) +
      (runId ? ` of run ${runId}` : ''),
  );
  const writer = new DemoWriter(redis, {
    total,
    ...(runId ? { idPrefix: runIdPrefix(runId) } : {}),
    output,
    // Entries of other runs are printed, not dropped: this process is their writer.
    onForeign: (raw) => output.line(`not this run's: ${raw}`),
  });
  const report = await writer.run(stop.signal);
  console.log(report.complete ? 'Demo writer: all results arrived' : 'Demo writer: stopped');
  for (const line of reportLines(report)) console.log(line);
  redis.disconnect();
} catch (err) {
  redis?.disconnect();
  console.error(`demo writer: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof DemoEnvError ? 78 : 1);
}
