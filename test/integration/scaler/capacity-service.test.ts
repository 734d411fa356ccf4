import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unitCpuKeyPrefix } from '../../../src/redis/keys.js';
import { Service } from '../../../src/service/service.js';
import type { ServiceStatus } from '../../../src/shared/status.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, TEST_DBS, testRedis } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// This file owns Redis database TEST_DBS.capacityService (the contract's real queue names); it deletes its keys after.
const DB = TEST_DBS.capacityService;

let redis: Redis;

beforeAll(() => {
  redis = testRedis(DB);
});
afterAll(async () => {
  for (const pattern of ['fila:*', 'bull:*', 'rpa:*']) await deleteKeys(redis, pattern);
  await redis.quit();
});

describe('capacity in the running service (echo flow, real Redis)', () => {
  it('bounds the rule by capacity, says so in [ESCALAR], and shows capacity, divisor and S in /api/status and /metrics', async () => {
    const config = serviceConfig(
      {
        queues: { conferencia: { flow: 'echo', jobsPerWorker: 'auto' }, emissao: { flow: 'echo' } },
        capacity: { enabled: true, maxUnits: 2, minJobSamples: 20 },
        http: { enabled: true, host: '127.0.0.1', port: 0 },
      },
      { REDIS_DB: String(DB) },
    );
    const { logger, lines } = memoryLogger();
    const service = new Service({ config, logger });
    try {
      await service.start();
      const pool = service.pool;
      if (!pool) throw new Error('pool not started');
      let peak = 0;
      pool.on('unit-state', () => (peak = Math.max(peak, pool.counts('conferencia').counted)));
      await redis.rpush(
        'fila:conferencia',
        ...Array.from({ length: 322 }, (_, i) => JSON.stringify({ id: `c-${i}`, sleepMs: 60 })),
      );
      await waitFor(() => lines.find((l) => l.message.startsWith('[ESCALAR] conferencia: 322 jobs')), {
        timeoutMs: 30_000,
        what: 'the first [ESCALAR] of conferencia',
      });
      const url = service.httpUrl as string;
      const status = await waitFor(
        async () => {
          const s = (await (await fetch(`${url}/api/status`)).json()) as ServiceStatus;
          const q = s.queues.find((x) => x.name === 'conferencia');
          return s.capacity?.units != null && q?.scaling && (q.scaling.jobSamples ?? 0) >= 20 ? s : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'capacity and 20 job times in /api/status' },
      );
      // The rule asked ceil(322/50) = 7 (fixed divisor: no job times yet); capacity gave at most 2, and said so.
      const up = status.recentDecisions.find(
        (d) => d.queue === 'conferencia' && d.action === 'up' && d.pending === 322,
      );
      expect(up?.reason).toMatch(/^a regra pede 7; (limitado pela capacidade: .+ → [12]|máquina sobrecarregada .+)$/);
      expect(status.capacity).toMatchObject({ enabled: true });
      expect(status.capacity?.units).toBeGreaterThanOrEqual(1);
      expect(status.capacity?.units).toBeLessThanOrEqual(2);
      expect(['cpu', 'memory', 'memoryBudget', 'maxUnits']).toContain(status.capacity?.limitedBy);
      expect(status.capacity?.cores).toBeGreaterThan(0);
      // Browsers launch in turns (one per two cores); echo units launch none, so none waits.
      expect(status.capacity?.launches).toMatchObject({ launching: 0, waiting: 0 });
      expect(status.capacity?.launches?.limit).toBeGreaterThanOrEqual(1);
      expect(status.capacity?.launches?.limit).toBeLessThanOrEqual(Math.max(1, status.capacity?.cores ?? 0));
      const conf = status.queues.find((x) => x.name === 'conferencia');
      expect(conf?.scaling?.jobSeconds).toBeGreaterThan(0.015);
      // The units' CPU is measured per queue and shown in /api/status and /metrics.
      const measured = await waitFor(
        async () => {
          const s = (await (await fetch(`${url}/api/status`)).json()) as ServiceStatus;
          return typeof s.capacity?.cpuPerUnit.conferencia === 'number' ? s.capacity : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'a CPU per unit measured for conferencia' },
      );
      expect(measured.cpuPerUnit.conferencia).toBeGreaterThan(0);
      expect(measured.cpuPerUnit.conferencia).toBeLessThan(1.5);
      expect(measured.freeCores).toBeGreaterThanOrEqual(0);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^rpa_capacity_cpu_per_unit\{queue="conferencia"\} [\d.e-]+$/m);
      expect(metrics).toMatch(/^rpa_capacity_units [12]$/m);
      expect(metrics).toMatch(/^rpa_queue_job_seconds\{queue="conferencia"\} [\d.]+$/m);
      expect(metrics).toMatch(/^rpa_queue_divisor\{queue="emissao"\} 50$/m);

      await waitFor(async () => (await redis.llen('fila:resultado')) === 322, {
        timeoutMs: 180_000,
        intervalMs: 500,
        what: 'all 322 results',
      });
      expect(peak).toBeLessThanOrEqual(2);
    } finally {
      await service.stop();
    }

    // The measurement is the pool's: in Redis after the stop, and where the next instance starts.
    const key = `${unitCpuKeyPrefix(config.redis.prefix)}:conferencia`;
    const stored = await redis.hgetall(key);
    expect(Number(stored.busySeconds)).toBeGreaterThanOrEqual(config.capacity.unitCpuMinBusySeconds);
    expect(Number(stored.cpuSeconds)).toBeGreaterThan(0);
    expect(stored.instance).toBe(config.instance.id);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(config.metrics.retentionDays * 86_400 - 60);
    const next = new Service({ config: { ...config, instance: { ...config.instance, id: 'next' } }, logger });
    try {
      await next.start();
      const url = next.httpUrl as string;
      // Before any job runs here: the pool's figure, marked as such, at the stored ratio.
      const seeded = await waitFor(
        async () => {
          const s = (await (await fetch(`${url}/api/status`)).json()) as ServiceStatus;
          return s.capacity?.unitCpu.conferencia ? s.capacity : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'the pool’s CPU per unit for conferencia in the next instance' },
      );
      expect(seeded.unitCpu.conferencia?.from).toBe('pool');
      expect(seeded.unitCpu.conferencia?.busySeconds).toBe(config.capacity.unitCpuMinBusySeconds);
      const ratio = Number(stored.cpuSeconds) / Number(stored.busySeconds);
      expect((seeded.unitCpu.conferencia?.cpuSeconds ?? 0) / config.capacity.unitCpuMinBusySeconds).toBeCloseTo(
        ratio,
        2,
      );
      expect(seeded.cpuPerUnit.conferencia).toBeGreaterThan(0);
    } finally {
      await next.stop();
    }
  }, 300_000);
});
