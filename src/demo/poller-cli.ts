/**
 * The demo poller alone: pushes the seed's scenario and exits. DEMO_CONFERENCIA (default 322),
 * DEMO_EMISSAO (default 3), DEMO_RUN_ID (default: a new one; give the writer the same),
 * REDIS_HOST / REDIS_PORT / REDIS_DB / REDIS_PASSWORD.
 */
import { Redis } from 'ioredis';
import { demoRedisOptions, DemoEnvError, intFromEnv, redisTargetFromEnv, describeTarget } from './env.js';
import { DEFAULT_CONFERENCIA_COUNT, DEFAULT_EMISSAO_COUNT, newRunId, pushScenario } from './poller.js';

let redis: Redis | undefined;
try {
  const target = redisTargetFromEnv();
  const conferenciaCount = intFromEnv('DEMO_CONFERENCIA', DEFAULT_CONFERENCIA_COUNT);
  const emissaoCount = intFromEnv('DEMO_EMISSAO', DEFAULT_EMISSAO_COUNT);
  const runId = process.env.DEMO_RUN_ID?.trim() || newRunId();
  redis = new Redis(demoRedisOptions(target, false));
  redis.on('error', () => undefined); // reported by the failing command below
  const pushed = await pushScenario(redis, { runId, conferenciaCount, emissaoCount });
  console.log(
    `Pushed ${pushed.conferencia} jobs to fila:conferencia and ${pushed.emissao} to fila:emissao ` +
      `at ${describeTarget(target)} (run ${runId}, ids demo-${runId}-*)`,
  );
  redis.disconnect();
} catch (err) {
  redis?.disconnect();
  console.error(`demo poller: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof DemoEnvError ? 78 : 1);
}
