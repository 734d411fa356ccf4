import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { RedisConfig } from '../../../src/config/types.js';
import { createRedis, redisOptions } from '../../../src/redis/connection.js';
import { RedisRefusedError } from '../../../src/redis/refusal.js';
import { waitForRedis } from '../../../src/redis/wait-for-redis.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { freePort, uniqueName } from '../../helpers/redis.js';
import { makeCertificates, RedisServer, tlsServerArgs, type TestCertificates } from '../../helpers/redis-servers.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

/** The service's Redis settings from these variables (as `npm start` reads them). */
function redisFromEnv(env: Record<string, string>): RedisConfig {
  return loadConfig({ env: { NODE_ENV: 'test', ...env } }).redis;
}

describe('Redis over TLS (a redis-server with --tls-port and a CA made here by openssl)', () => {
  const dir = tempDir('tls');
  let certs: TestCertificates;
  let server: RedisServer; // client certificates optional
  let strict: RedisServer; // client certificates required
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    certs = makeCertificates(dir);
    const port = await freePort();
    server = await RedisServer.start({
      port,
      args: ['--port', '0', '--tls-port', String(port), ...tlsServerArgs(certs, 'optional')],
    });
    const strictPort = await freePort();
    // TLS 1.2: the missing client certificate fails the handshake itself. Under TLS 1.3 the server
    // rejects it after the client's handshake is done, and a client that writes first (ioredis
    // does, at once) often reads ECONNRESET instead of the server's alert: on a loaded machine
    // every attempt for 20 s did (a CI run), so what the refusal says could not be checked.
    strict = await RedisServer.start({
      port: strictPort,
      args: [
        '--port',
        '0',
        '--tls-port',
        String(strictPort),
        ...tlsServerArgs(certs, 'yes'),
        '--tls-protocols',
        'TLSv1.2',
      ],
    });
  });

  afterAll(async () => {
    for (const s of services) await s.stop('SIGKILL');
    await server?.stop();
    await strict?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the right CA (and with a client certificate where the server asks for one)', async () => {
    const { logger, lines } = memoryLogger();
    const config = redisFromEnv({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(server.port),
      REDIS_TLS_CA_FILE: certs.caCert,
    });
    const redis = createRedis(config, 'command', logger, 'tls-test');
    try {
      await waitForRedis(redis, { config, logger, signal: AbortSignal.timeout(10_000) });
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }

    const withCert = redisFromEnv({
      REDIS_URL: `rediss://localhost:${strict.port}/0`,
      REDIS_TLS_CA_FILE: certs.caCert,
      REDIS_TLS_CERT_FILE: certs.clientCert,
      REDIS_TLS_KEY_FILE: certs.clientKey,
    });
    const client = createRedis(withCert, 'command', logger, 'tls-cert-test');
    try {
      await waitForRedis(client, { config: withCert, logger, signal: AbortSignal.timeout(10_000) });
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('refuses a server whose certificate the CA did not sign, or whose name does not match, with one line', async () => {
    for (const [env, code] of [
      [{ REDIS_TLS_CA_FILE: certs.otherCaCert }, /SELF_SIGNED|UNABLE_TO|CERT/],
      [
        { REDIS_TLS_CA_FILE: certs.caCert, REDIS_TLS_SERVERNAME: 'redis.other.example' },
        /ERR_TLS_CERT_ALTNAME_INVALID/,
      ],
    ] as const) {
      const { logger, lines } = memoryLogger();
      const config = redisFromEnv({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(server.port), ...env });
      const redis = createRedis(config, 'command', logger, 'tls-wrong');
      try {
        const err = await waitForRedis(redis, { config, logger, signal: AbortSignal.timeout(20_000) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RedisRefusedError);
        expect((err as RedisRefusedError).refusal.kind).toBe('certificate');
        expect((err as Error).message).toMatch(code);
        const errors = lines.filter((l) => l.level === 'error');
        expect(errors.map((l) => l.message)).toEqual([(err as Error).message]);
        expect(errors[0]?.message).toMatch(/^certificado do Redis recusado em 127\.0\.0\.1:\d+ .*REDIS_TLS_CA_FILE/);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('says so when the server asks for a client certificate and none is given', async () => {
    const { logger } = memoryLogger();
    const config = redisFromEnv({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(strict.port),
      REDIS_TLS_CA_FILE: certs.caCert,
    });
    const redis = createRedis(config, 'command', logger, 'tls-no-cert');
    try {
      const err = await waitForRedis(redis, { config, logger, signal: AbortSignal.timeout(20_000) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RedisRefusedError);
      expect((err as Error).message).toMatch(/^conexão TLS com o Redis recusada .*REDIS_TLS_CERT_FILE/);
    } finally {
      redis.disconnect();
    }
  });

  it('the service runs an echo job over TLS; with the wrong CA it exits 78 after one line, no retry storm', async () => {
    const q = uniqueName('tls');
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ queues: { [q]: { flow: 'echo', minWorkers: 1 } }, scaler: { intervalSeconds: 1 } }),
    );
    const base = {
      CONFIG_FILE: configFile,
      REDIS_URL: `rediss://127.0.0.1:${server.port}`,
      HTTP_PORT: String(await freePort()),
      LOG_FILE: '',
      INSTANCE_ID: q,
      BRIDGE_ID: q,
      REDIS_PREFIX: q,
    };
    const good = new ServiceProcess({ ...base, REDIS_TLS_CA_FILE: certs.caCert });
    services.push(good);
    await good.waitForLine(/serviço pronto/);
    const admin = new Redis({ ...redisOptions(redisFromEnv({ ...base, REDIS_TLS_CA_FILE: certs.caCert }), 'command') });
    try {
      await admin.rpush(`fila:${q}`, JSON.stringify({ id: 'tls-1', n: 1 }));
      const entry = await waitFor(async () => admin.lpop('fila:resultado'), { timeoutMs: 30_000, what: 'result' });
      expect(JSON.parse(entry)).toMatchObject({ id: 'tls-1', status: 'ok', result: { id: 'tls-1', n: 1 } });
      expect((await good.stop('SIGTERM')).code).toBe(0);
      for (const pattern of [`${q}:*`, `fila:${q}*`]) {
        const keys = await admin.keys(pattern);
        if (keys.length > 0) await admin.del(...keys);
      }
    } finally {
      admin.disconnect();
    }

    const wrong = new ServiceProcess({ ...base, REDIS_TLS_CA_FILE: certs.otherCaCert });
    services.push(wrong);
    const exit = await wrong.exited;
    expect(exit.code).toBe(78);
    const refusals = wrong.lines.filter((l) => /certificado do Redis recusado/.test(l));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/REDIS_TLS_CA_FILE/);
    expect(wrong.lines.filter((l) => /Redis inacessível/.test(l))).toEqual([]);
    expect(wrong.output()).not.toMatch(/\n\s+at .*\(/);
  });
});
