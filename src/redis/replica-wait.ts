/**
 * Writes that must survive a failover wait for a replica (Redis `WAIT`). Replication is
 * asynchronous: a write the master acknowledged is lost if the master dies before a replica got
 * it. The service waits after the two writes whose loss cannot be repaired by running a job again
 * (README "Redis in production", "Failover"):
 *
 * - the bridge's batch: the jobs are added, then the items are trimmed off the processing list.
 *   If the adds were lost with the master but the trim went to the new one, the items would be
 *   gone. Waiting between the two closes that window.
 * - a result entry (with the writer's idempotence marker, the entry and the marker survive
 *   together, so a job run again after a lost completion does not write a second entry).
 *
 * Job completion (BullMQ's moveToCompleted) is not waited for: when it is lost the job runs again
 * after its lock lapses (a duplicate entry at worst, never a lost item).
 *
 * WAIT blocks only the connection it is sent on and covers every write that connection sent
 * before it (so it is sent on the connection that wrote). When the replicas do not answer in time (none left after a failover, one down),
 * the service goes on without waiting (saying so once) and tries again every `probeEveryMs`:
 * a missing replica must not cost every job the whole timeout.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';

export interface ReplicaWaitOptions {
  /** Replicas that must acknowledge; 0 turns waiting off. */
  readonly replicas: number;
  /** Longest wait for them. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** While replicas are missing, try one real WAIT this often. @defaultValue 5000 */
  readonly probeEveryMs?: number;
  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
}

/** What the waits cost so far (for benchmarks and the log). */
export interface ReplicaWaitStats {
  /** WAITs sent. */
  waits: number;
  /** Their total time, ms. */
  totalMs: number;
  /** WAITs that got fewer replicas than asked. */
  shortfalls: number;
  /** Writes not waited for because replicas were missing. */
  skipped: number;
}

export class ReplicaWait {
  readonly stats: ReplicaWaitStats = { waits: 0, totalMs: 0, shortfalls: 0, skipped: 0 };
  readonly #o: ReplicaWaitOptions;
  readonly #clock: () => number;
  /** Since when replicas are missing; undefined while they answer. */
  #missingSince: number | undefined;
  #lastProbe = 0;

  constructor(options: ReplicaWaitOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  get enabled(): boolean {
    return this.#o.replicas > 0;
  }

  /**
   * Waits until the replicas acknowledged every write `redis` sent so far (`what` names them in
   * the log). Fewer replicas in time: goes on (said once); the writes landed on the master, only
   * less durably. Rejects when the WAIT itself fails (the connection dropped): then the writes may
   * be lost with the master, and the caller must not act as if they were done (the bridge
   * replays its batch, an attempt fails and runs again).
   */
  async confirm(redis: Redis, what: string): Promise<void> {
    const { replicas, timeoutMs, logger } = this.#o;
    if (replicas <= 0) return;
    const now = this.#clock();
    if (this.#missingSince !== undefined && now - this.#lastProbe < (this.#o.probeEveryMs ?? 5000)) {
      this.stats.skipped += 1;
      return;
    }
    this.#lastProbe = now;
    const started = performance.now();
    let acked: number;
    try {
      acked = await redis.wait(replicas, timeoutMs);
    } finally {
      this.stats.waits += 1;
      this.stats.totalMs += performance.now() - started;
    }
    if (acked >= replicas) {
      if (this.#missingSince !== undefined) {
        logger.info(`réplicas do Redis confirmam de novo as gravações (${acked} de ${replicas})`);
      }
      this.#missingSince = undefined;
      return;
    }
    this.stats.shortfalls += 1;
    if (this.#missingSince === undefined) {
      logger.warn(
        `só ${acked} de ${replicas} réplica(s) do Redis confirmaram ${what} em ${timeoutMs} ms: seguindo sem ` +
          `esperar réplicas (nova tentativa a cada ${Math.round((this.#o.probeEveryMs ?? 5000) / 1000)}s); ` +
          `um failover agora pode perder o que não chegou a uma réplica`,
      );
      this.#missingSince = now;
    }
  }
}

/** The no-op instance: nothing waits (no replicas configured). */
export function noReplicaWait(logger: Logger): ReplicaWait {
  return new ReplicaWait({ replicas: 0, timeoutMs: 0, logger });
}
