import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Service } from '../../../src/service/service.js';
import type { ServiceStatus } from '../../../src/shared/status.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

describe('bridge: the invalid list bound as operators see it', () => {
  const queue = uniqueName('bound');
  const redis = new Redis(sharedRedisConfig());
  afterAll(async () => {
    await deleteKeys(redis, `*${queue}*`);
    redis.disconnect();
  });

  it('shows the list nearing its bound in /api/status and /metrics, and counts the entries dropped at it', async () => {
    // Its own BullMQ prefix and source lists for the default queues: nothing shared with other tests.
    const config = serviceConfig({
      redis: { prefix: queue },
      queues: {
        conferencia: { flow: 'echo', sourceList: `${queue}:conferencia`, resultList: `${queue}:resultado` },
        emissao: { flow: 'echo', sourceList: `${queue}:emissao`, resultList: `${queue}:resultado` },
        [queue]: { flow: 'echo', resultList: `${queue}:resultado` },
      },
      bridge: { invalidMaxItems: 4 },
      http: { enabled: true, host: '127.0.0.1', port: 0 },
    });
    const service = new Service({ config, logger: memoryLogger('warn').logger });
    try {
      await service.start();
      const url = service.httpUrl as string;
      const listOf = async () => {
        const status = (await (await fetch(`${url}/api/status`)).json()) as ServiceStatus;
        return status.queues.find((q) => q.name === queue)?.invalidList;
      };
      await redis.rpush(`fila:${queue}`, 'bad-1', 'bad-2', 'bad-3');
      const nearing = await waitFor(async () => ((await listOf())?.items === 3 ? listOf() : undefined), {
        what: 'three entries in the status',
      });
      expect(nearing).toMatchObject({ items: 3, maxItems: 4, fill: 0.75 });
      expect(nearing.bytes).toBeGreaterThan(0);

      await redis.rpush(`fila:${queue}`, 'bad-4', 'bad-5', 'bad-6');
      await waitFor(async () => (await redis.lindex(`fila:${queue}:invalid`, -1))?.includes('bad-6'), {
        what: 'the last bad item recorded',
      });
      expect(await listOf()).toMatchObject({ items: 4, fill: 1 });
      // Counted once the bridge has the settle's answer, which may come after Redis shows it.
      const metrics = await waitFor(
        async () => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return text.includes(`rpa_invalid_dropped_total{queue="${queue}"} 2`) ? text : undefined;
        },
        { what: 'the two dropped entries counted' },
      );
      expect(metrics).toContain(`rpa_invalid_list_fill_ratio{queue="${queue}"} 1`);
    } finally {
      await service.stop();
    }
  });
});
