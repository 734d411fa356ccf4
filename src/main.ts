/**
 * Entry point: `npm start` and the Docker image both run `node dist/main.js`.
 * The only module that touches `process.on(...)`.
 */
import { loadConfig } from './config/load.js';
import { printableConfig } from './config/printable.js';
import type { AppConfig } from './config/types.js';
import { unknownEnvWarnings } from './config/unknown-env.js';
import { ConfigError, coerceError } from './lib/errors.js';
import { createLogger, flushLogger } from './logging/logger.js';
import { RedisRefusedError } from './redis/refusal.js';
import { Service } from './service/service.js';

const EX_CONFIG = 78;

async function main(): Promise<number> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }
  const logger = createLogger(config.log);
  logger.info(`iniciando rpa-pool (NODE_ENV=${config.env}, pid ${process.pid})`);
  logger.debug(`configuração: ${JSON.stringify(printableConfig(config))}`);
  for (const line of unknownEnvWarnings(process.env)) logger.warn(line);

  let service: Service;
  try {
    service = new Service({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error(err.message);
      await flushLogger(logger);
      return EX_CONFIG;
    }
    throw err;
  }

  let exitCode = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let stopping = false;

  const shutdown = (reason: string, code: number): void => {
    if (stopping) {
      logger.warn(
        `${reason} de novo durante a parada; ainda aguardando os jobs ativos (limite: shutdown.timeoutSeconds)`,
      );
      return;
    }
    stopping = true;
    exitCode = code;
    logger.info(`${reason}: parando (até ${config.shutdown.timeoutSeconds}s esperando os jobs, depois forçado)`);
    const hardDeadline = setTimeout(
      () => {
        logger.error('a parada não terminou a tempo; saindo assim mesmo');
        void flushLogger(logger).finally(() => process.exit(exitCode || 1));
      },
      (config.shutdown.timeoutSeconds + 20) * 1000,
    );
    hardDeadline.unref();
    service
      .stop()
      .catch((err: unknown) => logger.error(`erro ao parar: ${coerceError(err).message}`))
      .finally(resolveDone);
  };

  process.on('SIGTERM', () => shutdown('SIGTERM recebido', 0));
  process.on('SIGINT', () => shutdown('SIGINT recebido', 0));
  process.on('unhandledRejection', (reason) => {
    logger.error(`rejeição não tratada: ${describe(reason)}`);
    shutdown('rejeição não tratada', 1);
  });
  process.on('uncaughtException', (err) => {
    logger.error(`exceção não capturada: ${describe(err)}`);
    shutdown('exceção não capturada', 1);
  });

  try {
    await service.start();
  } catch (err) {
    const error = coerceError(err);
    // A refusal (wrong user, password or certificate) has been said in its own one line.
    if (!(error instanceof RedisRefusedError)) logger.error(`não foi possível iniciar: ${error.message}`);
    shutdown('falha no início', error instanceof ConfigError ? EX_CONFIG : 1);
  }
  await done;
  logger.info(`parado (saída ${exitCode})`);
  await flushLogger(logger);
  return exitCode;
}

function describe(value: unknown): string {
  const err = coerceError(value);
  return err.stack ?? err.message;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${coerceError(err).message}\n`);
    process.exit(1);
  },
);
