/**
 * Failover: 1 master, 1 replica and 3 sentinels started here; the service (`node dist/main.js`,
 * echo flow) connected through Sentinel; the master SIGKILLed in the middle of a burst. The
 * service follows the new master and every item gets its result: 0 lost. Duplicates are allowed
 * only with their reason (bench/failover.ts measures the same run; README "Failover").
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { redisOptions } from '../../../src/redis/connection.js';
import { accountFor, drainResults, firstJobOnNewMasterMs, type TakenEntry } from '../../helpers/failover.js';
import { freePort, uniqueName } from '../../helpers/redis.js';
import { SentinelGroup } from '../../helpers/redis-servers.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

const ITEMS = 300;
const WORKERS = 4;

describe('Sentinel failover mid-burst', () => {
  const dir = tempDir('failover');
  const q = uniqueName('fo');
  const resultList = `fila:${q}-resultado`;
  let group: SentinelGroup;
  let service: ServiceProcess | undefined;
  let client: Redis | undefined;
  let writer: Redis | undefined;

  beforeAll(async () => {
    group = await SentinelGroup.start(dir);
  }, 60_000);

  afterAll(async () => {
    await service?.stop('SIGKILL');
    client?.disconnect();
    writer?.disconnect();
    await group?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('follows the new master; every item gets its result, duplicates only with their reason', async () => {
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        queues: { [q]: { flow: 'echo', resultList, minWorkers: WORKERS, maxWorkers: WORKERS } },
        scaler: { intervalSeconds: 1, stalledIntervalMs: 1000 },
        bridge: { batchSize: 25 },
        jobs: { lockSeconds: 3 },
      }),
    );
    const env = {
      CONFIG_FILE: configFile,
      REDIS_SENTINELS: group.addresses,
      REDIS_SENTINEL_NAME: SentinelGroup.NAME,
      REDIS_PREFIX: q,
      INSTANCE_ID: q,
      BRIDGE_ID: q,
      LOG_FILE: '',
      LOG_LEVEL: 'debug',
      HTTP_PORT: String(await freePort()),
    };
    const config = loadConfig({ env: { NODE_ENV: 'test', ...env } });
    expect(config.redis.waitReplicas).toBe(1); // on by default with Sentinel
    client = new Redis(redisOptions(config.redis, 'command'));
    writer = new Redis(redisOptions(config.redis, 'blocking'));
    for (const c of [client, writer]) c.on('error', () => undefined); // the failover, expected

    service = new ServiceProcess(env);
    await service.waitForLine(/serviço pronto/);
    await service.waitForLine(new RegExp(`Worker 'Worker-${q}-${WORKERS}' iniciado`));

    const ids = Array.from({ length: ITEMS }, (_, i) => `fo-${i}`);
    const taken: TakenEntry[] = [];
    const stopWriter = new AbortController();
    const draining = drainResults(writer, resultList, taken, stopWriter.signal);
    try {
      await client.rpush(`fila:${q}`, ...ids.map((id) => JSON.stringify({ id, sleepMs: 30 })));
      // The poller's own durability: its items reached the replica before the master dies.
      expect(await client.wait(1, 5000)).toBe(1);

      await waitFor(() => taken.length >= ITEMS * 0.3, { timeoutMs: 30_000, what: '30% of the results' });
      const oldMaster = group.master.port;
      const killedAt = Date.now();
      await group.master.stop('SIGKILL');

      await waitFor(async () => (await group.masterPort()) !== oldMaster, { timeoutMs: 20_000, what: 'a new master' });
      await waitFor(() => new Set(taken.map((e) => e.id)).size >= ITEMS, {
        timeoutMs: 45_000,
        what: `results of all ${ITEMS} items`,
      }).catch((err: unknown) => {
        const missing = accountFor(ids, taken).lost;
        throw new Error(
          `${String(err)}; missing ${missing.length}: ${missing.slice(0, 10).join(', ')}\n${service?.lines.slice(-30).join('\n')}`,
        );
      });

      // A job run again writes its entry late: wait until the queue holds no job that could still
      // write one (none active, waiting or delayed) and the writer took every entry.
      const bull = new Queue(q, { connection: client, prefix: q, skipVersionCheck: true });
      try {
        await waitFor(
          async () => {
            const c = await bull.getJobCounts('active', 'waiting', 'prioritized', 'delayed');
            const busy = Object.values(c).some((n) => n > 0);
            return !busy && (await client?.llen(resultList)) === 0;
          },
          { timeoutMs: 30_000, what: 'the queue drained and every entry taken' },
        );
      } finally {
        await bull.close();
      }
      stopWriter.abort();
      await draining;

      const account = accountFor(ids, taken);
      const firstMs = firstJobOnNewMasterMs(taken, killedAt + 20);
      console.log(
        `failover: ${ITEMS} items, lost ${account.lost.length}, duplicated ${account.duplicates.length} ` +
          `(${account.duplicates.map((d) => `${d.id}: ${d.reason}`).join(', ') || 'none'}); ` +
          `first job on the new master ${firstMs ?? '?'} ms after the kill; the service said:\n` +
          service.lines.filter((l) => /(warn|error):|ISOLADA|REINTEGRADA|restabelecida/.test(l)).join('\n'),
      );
      expect(account.lost).toEqual([]);
      expect(account.notOk).toEqual([]);
      // A job in hand at the kill may run again (its completion died with the master), and an
      // entry the writer took may come back (its pop died with the master): at most one per
      // worker and one for the writer, each with one of those reasons.
      expect(account.duplicates.length).toBeLessThanOrEqual(WORKERS + 1);
      for (const d of account.duplicates) {
        expect(['entry-redelivered', 'job-ran-twice']).toContain(d.reason);
        expect(d.entries.length).toBe(2);
      }
      expect(firstMs).toBeDefined();

      // Nothing stranded on the new master: the source list and the bridge's processing list are empty.
      expect(await client.llen(`fila:${q}`)).toBe(0);
      expect(await client.llen(`fila:${q}:processing:${q}`)).toBe(0);
      expect(service.running).toBe(true);
      expect(service.output()).toMatch(/restabelecida/);
      expect((await service.stop('SIGTERM')).code).toBe(0);
    } finally {
      stopWriter.abort();
      await draining;
    }
  }, 120_000);
});
