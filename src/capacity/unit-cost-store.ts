/**
 * The CPU per busy unit of each queue, kept in Redis for the whole pool
 * (`<prefix>:rpa:unit-cpu:<queue>`, a hash of the decayed sums, who wrote them and when; it
 * expires `metrics.retentionDays` after the last write). Every instance writes the queues its own
 * units measured; an instance that has not measured a queue (just started, restarted, or the
 * queue's first burst here) starts from the pool's figure instead of launching what the rule asks
 * blind. Last writer wins: the figures of instances on one kind of machine agree, and a machine
 * of another kind replaces the pool's figure with its own as soon as its units have run.
 */
import type { Redis } from 'ioredis';
import type { CostEvidence } from './unit-cost.js';

/** A queue's shared evidence, as stored. */
export interface StoredCost extends CostEvidence {
  /** When it was written (ms since epoch) and by which instance. */
  readonly at: number;
  readonly instance: string;
}

export class UnitCostStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  /** `prefix`: `<redis.prefix>:rpa:unit-cpu` (redis/keys.ts `unitCpuKeyPrefix`), then `:<queue>`. */
  constructor(redis: Redis, prefix: string, ttlSeconds: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlSeconds = ttlSeconds;
  }

  key(queue: string): string {
    return `${this.#prefix}:${queue}`;
  }

  /** Writes this instance's evidence for each queue given (one round trip). */
  async save(costs: Readonly<Record<string, CostEvidence>>, instance: string, at: number = Date.now()): Promise<void> {
    const entries = Object.entries(costs);
    if (entries.length === 0) return;
    const multi = this.#redis.multi();
    for (const [queue, c] of entries) {
      multi.hset(this.key(queue), {
        busySeconds: c.busySeconds.toFixed(3),
        cpuSeconds: c.cpuSeconds.toFixed(3),
        waitSeconds: c.waitSeconds.toFixed(3),
        at: String(Math.round(at)),
        instance,
      });
      multi.expire(this.key(queue), this.#ttlSeconds);
    }
    await multi.exec();
  }

  /** The pool's evidence for each queue named; queues without a valid entry are left out. */
  async load(queues: readonly string[]): Promise<Record<string, StoredCost>> {
    const pipeline = this.#redis.pipeline();
    for (const q of queues) pipeline.hgetall(this.key(q));
    const replies = (await pipeline.exec()) ?? [];
    const out: Record<string, StoredCost> = {};
    queues.forEach((q, i) => {
      const [err, hash] = replies[i] ?? [null, null];
      if (err || !hash || typeof hash !== 'object') return;
      const h = hash as Record<string, string>;
      const stored = {
        busySeconds: Number(h.busySeconds),
        cpuSeconds: Number(h.cpuSeconds),
        waitSeconds: Number(h.waitSeconds),
        at: Number(h.at),
        instance: h.instance ?? '',
      };
      const valid = [stored.busySeconds, stored.cpuSeconds, stored.waitSeconds, stored.at].every(
        (n) => Number.isFinite(n) && n >= 0,
      );
      if (valid && stored.busySeconds > 0) out[q] = stored;
    });
    return out;
  }
}
