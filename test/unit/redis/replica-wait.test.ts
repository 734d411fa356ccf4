import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ReplicaWait } from '../../../src/redis/replica-wait.js';
import { memoryLogger } from '../../helpers/memory-logger.js';

/** A connection whose WAIT answers what `acks` says (a number of replicas, or an error). */
function fakeRedis(acks: () => number | Error): { redis: Redis; calls: number[][] } {
  const calls: number[][] = [];
  const redis = {
    wait: (n: number, ms: number) => {
      calls.push([n, ms]);
      const a = acks();
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  } as unknown as Redis;
  return { redis, calls };
}

describe('ReplicaWait', () => {
  it('sends WAIT <replicas> <timeout> on the connection that wrote; off with 0 replicas', async () => {
    const { logger } = memoryLogger();
    const { redis, calls } = fakeRedis(() => 1);
    await new ReplicaWait({ replicas: 1, timeoutMs: 500, logger }).confirm(redis, 'x');
    await new ReplicaWait({ replicas: 0, timeoutMs: 500, logger }).confirm(redis, 'x');
    expect(calls).toEqual([[1, 500]]);
  });

  it('missing replicas: says so once, stops waiting, probes every 5 s, says when they are back', async () => {
    const { logger, lines } = memoryLogger();
    let now = 0;
    let acked = 0;
    const { redis, calls } = fakeRedis(() => acked);
    const wait = new ReplicaWait({ replicas: 1, timeoutMs: 1000, logger, clock: () => now });
    await wait.confirm(redis, 'uma entrada de resultado');
    for (let i = 0; i < 10; i++) {
      now += 400;
      await wait.confirm(redis, 'uma entrada de resultado');
    }
    expect(calls).toHaveLength(1); // 4 s later: not probed again yet
    expect(wait.stats).toMatchObject({ waits: 1, shortfalls: 1, skipped: 10 });
    now += 1000;
    await wait.confirm(redis, 'x'); // 5 s: one probe, still short, said no more
    expect(calls).toHaveLength(2);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(lines[0]?.message).toMatch(
      /^só 0 de 1 réplica\(s\) do Redis confirmaram uma entrada de resultado em 1000 ms/,
    );
    acked = 1;
    now += 5000;
    await wait.confirm(redis, 'x');
    await wait.confirm(redis, 'x'); // waiting again on every write
    expect(calls).toHaveLength(4);
    expect(lines.at(-1)?.message).toMatch(/confirmam de novo/);
  });

  it('a WAIT that fails (connection lost) rejects: the write may be lost with the master', async () => {
    const { logger } = memoryLogger();
    const { redis } = fakeRedis(() => new Error('Connection is closed.'));
    await expect(new ReplicaWait({ replicas: 1, timeoutMs: 10, logger }).confirm(redis, 'x')).rejects.toThrow(
      /Connection is closed/,
    );
  });
});
