/**
 * Runs only the bridge (for tests and one-off recoveries), configured like the service: the same
 * loader, files and environment variables (README "Configuration"), e.g.
 *
 *     BRIDGE_QUEUES=conferencia,emissao BRIDGE_ID=host-a node dist/bridge/cli.js
 *
 * `BRIDGE_QUEUES` (comma-separated) picks the queues to bridge; a name not configured gets the
 * defaults (source list `fila:<name>`). Without it, every configured queue. Logs go to the console.
 * Give it a stable `BRIDGE_ID`: it is not in the pool, so no instance takes over a processing list
 * it leaves; only a bridge started with the same id finishes it (the default is unique per process).
 * A configuration error prints its one line and exits 78 (EX_CONFIG), and so does a Redis that
 * refuses the user, password or certificate.
 *
 * SIGTERM / SIGINT close the bridge (the batch in hand is finished) and exit 0.
 */
import { Bridge } from './bridge.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../lib/errors.js';
import { createLogger, flushLogger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import { RedisRefusedError } from '../redis/refusal.js';
import { waitForRedis } from '../redis/wait-for-redis.js';

const names = process.env.BRIDGE_QUEUES?.split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '');

let config;
try {
  config = loadConfig(names && names.length > 0 ? { onlyQueues: names } : {});
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(78);
}

const logger = createLogger({ level: config.log.level, file: '', format: config.log.format });
const bridge = new Bridge({
  queues: config.queues,
  redis: config.redis,
  bridge: config.bridge,
  jobs: config.jobs,
  bridgeId: config.bridge.id,
  logger,
});

async function shutdown(signal: string): Promise<void> {
  logger.info(`${signal}: fechando a ponte`);
  await bridge.close();
  await flushLogger(logger);
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

// A refused user, password or certificate is a configuration error: its one line, exit 78.
const probe = createRedis(config.redis, 'command', logger, 'bridge-cli');
try {
  await waitForRedis(probe, { config: config.redis, logger, signal: AbortSignal.timeout(30_000) });
} catch (err) {
  if (!(err instanceof RedisRefusedError)) throw err;
  probe.disconnect();
  await flushLogger(logger);
  process.exit(78);
}
probe.disconnect();
await bridge.start();
