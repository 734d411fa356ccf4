/**
 * One process per `INSTANCE_ID` (issue 25): a second process started with the id of a live one is
 * refused with a clear line (ConfigError: exit 78) and leaves the first one's slots alone; a record
 * left by a dead predecessor with that id is waited out, then the new process joins.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { ConfigError } from '../../../src/lib/errors.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

describe('duplicate instance ids', () => {
  const prefix = uniqueName('dup');
  const queue = uniqueName('dupq');
  const results = `${queue}:resultado`;
  const redis = new Redis(sharedRedisConfig());
  const membership = new PoolMembership({ redis, prefix, queues: ['conferencia', 'emissao', queue], ttlMs: 6000 });
  const services: Service[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await deleteKeys(redis, `${prefix}*`);
    await deleteKeys(redis, `*${queue}*`);
    redis.disconnect();
  });

  function instance(id: string) {
    const log = memoryLogger('info');
    const config = serviceConfig(
      {
        queues: { [queue]: { flow: 'echo', resultList: results, jobsPerWorker: 1 } },
        scaler: { stabilizationSeconds: 60 },
        capacity: { enabled: false },
        shutdown: { timeoutSeconds: 1 },
      },
      { REDIS_PREFIX: prefix, INSTANCE_ID: id, BRIDGE_ID: uniqueName('ponte') },
    );
    const service = new Service({ config, logger: log.logger });
    services.push(service);
    return { service, lines: log.lines };
  }

  it('refuses a second live process with the same INSTANCE_ID, leaving the first one’s slots alone', async () => {
    const first = instance('maq-dup');
    await first.service.start();
    await redis.rpush(`fila:${queue}`, ...[1, 2].map((i) => JSON.stringify({ id: `d-${i}`, sleepMs: 60_000 })));
    const held = await waitFor(
      async () => {
        const me = (await membership.snapshot()).instances.find((i) => i.id === 'maq-dup');
        // A slot is held from its claim on; its unit takes its job once its browser is up.
        return me?.slots[queue] === 2 && first.service.pool?.counts(queue).busy === 2 ? me : undefined;
      },
      { timeoutMs: 30_000, what: 'the first process running 2 units' },
    );

    const second = instance('maq-dup');
    const refused = await second.service.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(
      new RegExp(
        `^INSTANCE_ID 'maq-dup' já está em uso por outro processo vivo neste pool \\(host \\S+, pid ${process.pid}, iniciado em \\S+\\)`,
      ),
    );
    expect((refused as Error).message).not.toContain('\n');
    // The first one still holds its record and its slots; its units still run.
    const after = (await membership.snapshot()).instances;
    expect(after.map((i) => [i.id, i.startedAt, i.slots[queue]])).toEqual([['maq-dup', held.startedAt, 2]]);
    expect(first.service.pool?.counts(queue).busy).toBe(2);
  });

  it('waits out the record a dead predecessor with the same id left, then joins', async () => {
    // A process with this id died a moment ago: its record lives until its lease runs out.
    await membership.join(
      {
        id: 'maq-reiniciada',
        host: 'outra-maquina',
        pid: 4242,
        startedAt: Date.now() - 60_000,
        version: 'v',
        capacity: 20,
        units: {},
        beatAt: Date.now(),
      },
      { maxTotalWorkers: 20, maxWorkers: { conferencia: 10, emissao: 10, [queue]: 10 } },
    );
    const next = instance('maq-reiniciada');
    await next.service.start();
    expect(
      next.lines.some((l) => /registro deste id de outro processo \(host outra-maquina, pid 4242/.test(l.message)),
    ).toBe(true);
    const me = (await membership.snapshot()).instances.find((i) => i.id === 'maq-reiniciada');
    expect(me?.pid).toBe(process.pid);
  });
});
