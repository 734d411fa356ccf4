import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

describe('SIGTERM while Redis is unreachable mid-job', () => {
  const dir = tempDir('lost');
  let redis: PrivateRedis | undefined;
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(
    'forces the workers after the graceful timeout and exits 0; the job runs again later',
    { timeout: 300_000 },
    async () => {
      redis = await PrivateRedis.create({ dataDir: dir }); // keeps the job across the restart
      await redis.start();
      const configFile = path.join(dir, 'config.json');
      fs.writeFileSync(
        configFile,
        JSON.stringify({
          http: { enabled: false },
          queues: { conferencia: { flow: 'echo' }, emissao: { flow: 'echo' } },
          shutdown: { timeoutSeconds: 2 },
          jobs: { lockSeconds: 3 },
          scaler: { stalledIntervalMs: 1000 },
          // A lease (3 beats) far longer than the graceful timeout: the forced phase is what is
          // tested here, not the self-fence (test/integration/cluster/self-fence.test.ts).
          instance: { heartbeatMs: 10_000 },
        }),
      );
      const env = { CONFIG_FILE: configFile, REDIS_PORT: String(redis.port), LOG_FILE: path.join(dir, 'svc.log') };
      service = new ServiceProcess(env);
      await service.waitForLine(/serviço pronto/);
      const client = new Redis({ port: redis.port });
      client.on('error', () => undefined); // Redis is stopped on purpose below
      const queue = new Queue('conferencia', { connection: { port: redis.port } });
      queue.on('error', () => undefined);
      try {
        await client.rpush('fila:conferencia', JSON.stringify({ id: 'lento', sleepMs: 60_000 }));
        await waitFor(async () => (await queue.getActiveCount()) === 1, { what: 'job active' });
        const firstRun = (await waitFor(() => queue.getJob('lento'), { what: 'job' })).processedOn ?? 0;
        expect(firstRun).toBeGreaterThan(0);
        await redis.stop();
        await service.waitForLine(/Redis inacessível|perdida; reconectando/);
        const { code } = await service.stop('SIGTERM', 120_000);
        expect(code).toBe(0);
        expect(service.output()).toMatch(/não terminaram em 2s; forçando a parada dos workers/);

        // With Redis back, the job that was cut short is picked up again by a new worker.
        await redis.start();
        service = new ServiceProcess(env);
        await service.waitForLine(/serviço pronto/);
        await waitFor(async () => ((await queue.getJob('lento'))?.processedOn ?? 0) > firstRun, {
          timeoutMs: 90_000,
          what: 'the job run again after Redis came back',
        });
      } finally {
        await queue.close();
        client.disconnect();
      }
    },
  );
});
