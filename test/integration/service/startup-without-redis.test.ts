import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, PrivateRedis, uniqueName } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';

describe('service start-up with Redis unreachable', () => {
  const dir = tempDir('svc');
  let redis: PrivateRedis | undefined;
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(
    'logs a clear line, stays up, becomes ready when Redis appears, exits 0 on SIGTERM',
    { timeout: 180_000 },
    async () => {
      redis = await PrivateRedis.create(); // its port is free: nothing listens yet
      const httpPort = await freePort();
      const q = uniqueName('svc');
      const configFile = path.join(dir, 'config.json');
      fs.writeFileSync(configFile, JSON.stringify({ queues: { [q]: { flow: 'echo' } } }));
      const logFile = path.join(dir, 'service.log');
      service = new ServiceProcess({
        CONFIG_FILE: configFile,
        REDIS_PORT: String(redis.port),
        HTTP_PORT: String(httpPort),
        LOG_FILE: logFile,
        LOG_LEVEL: 'debug',
        RPA_SENHA: 'senha-que-nao-pode-vazar',
        BOARD_USER: 'ops',
        BOARD_PASSWORD: 'board-que-nao-pode-vazar',
      });

      const waiting = await service.waitForLine(/aguardando o Redis em 127\.0\.0\.1:\d+/);
      expect(waiting).toContain(String(redis.port));
      const unreachable = await service.waitForLine(
        /Redis inacessível em 127\.0\.0\.1:\d+ \(ECONNREFUSED\); tentando de novo/,
      );
      expect(unreachable).toBeTruthy();
      // Stays up, answers /healthz, and /readyz says not ready.
      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(503);
      expect(service.running).toBe(true);
      // Retries are not a stack trace per attempt.
      expect(service.output()).not.toMatch(/\n\s+at .*\(/);

      await redis.start();
      await service.waitForLine(/serviço pronto/);
      expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);

      const { code } = await service.stop('SIGTERM');
      expect(code).toBe(0);
      expect(service.output()).toMatch(/SIGTERM recebido: parando/);
      expect(service.output()).toMatch(/parado \(saída 0\)/);

      const written = fs.readFileSync(logFile, 'utf8');
      expect(written).toContain('serviço pronto');
      for (const text of [written, service.output()]) {
        expect(text).not.toContain('senha-que-nao-pode-vazar');
        expect(text).not.toContain('board-que-nao-pode-vazar');
      }
      // The debug config dump is there, masked.
      expect(written).toMatch(/configuração: .*"password":"\*\*\*"/);
    },
  );

  it('exits 0 on SIGTERM while still waiting for Redis', async () => {
    const port = await freePort(); // nothing listens there
    const waiting = new ServiceProcess({
      REDIS_PORT: String(port),
      HTTP_PORT: String(await freePort()),
      LOG_FILE: path.join(dir, 'waiting.log'),
    });
    await waiting.waitForLine(/aguardando o Redis/);
    const { code } = await waiting.stop('SIGTERM');
    expect(code).toBe(0);
    expect(waiting.output()).toMatch(/parado \(saída 0\)/);
  });

  it('stops start-up on a bad value with one line, exit 78 and no stack trace', async () => {
    const bad = new ServiceProcess({ REDIS_PORT: '70000', LOG_FILE: path.join(dir, 'bad.log') });
    const { code } = await bad.exited;
    expect(code).toBe(78);
    expect(bad.lines).toHaveLength(1);
    expect(bad.lines[0]).toMatch(/'redis\.port' from env REDIS_PORT is "70000"/);
  });

  it('refusing to listen on a public host without credentials is a configuration problem: exit 78', async () => {
    const open = new ServiceProcess({
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: String(await freePort()),
      REDIS_PORT: String(await freePort()),
      LOG_FILE: path.join(dir, 'open.log'),
    });
    const { code } = await open.exited;
    expect(code).toBe(78);
    expect(open.output()).toMatch(/refusing to listen on 0\.0\.0\.0 without BOARD_USER\/BOARD_PASSWORD/);
  });
});
