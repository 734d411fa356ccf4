import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { coerceError } from '../lib/errors.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceEventMap, ServiceEvents } from '../shared/events.js';
import { TIERS, bucketStart, historyKey, runField, type Tier } from './history-keys.js';
import {
  EMPTY_TALLY,
  countEvent,
  encodeTally,
  isEmptyTally,
  withGauges,
  type Tally,
  type TallyEvent,
  type TallyGauges,
} from './tally.js';

/** Options for {@link PoolHistoryWriter}. */
export interface PoolHistoryWriterOptions {
  /** A command connection (its offline queue holds a flush while Redis is away). */
  readonly redis: Redis;
  /** `redis.prefix`. */
  readonly prefix: string;
  readonly queues: readonly string[];
  readonly instanceId: string;
  readonly events: ServiceEvents;
  /** Pending jobs, this instance's units and its bridge's stuck seconds per queue, read at every flush. */
  readonly gauges: (queue: string) => TallyGauges;
  /** Buckets expire this long after they end (`metrics.retentionDays`). */
  readonly retentionMs: number;
  readonly logger: Logger;
  /** How often changed buckets are written. @defaultValue 1000 */
  readonly flushMs?: number;
  /** @defaultValue Date.now */
  readonly clock?: () => number;
  /** Tells this run's records from an earlier run's with the same instance id. @defaultValue random */
  readonly runId?: string;
}

/** This run's record of one queue's bucket, as last written and as it is now. */
interface Slot {
  readonly key: string;
  readonly endMs: number;
  readonly tierMs: number;
  tally: Tally;
  /** When it was last written; the coarser tiers are written less often (see {@link writeEveryMs}). */
  writtenAt: number;
  /** Bumped on every change; a flush clears `dirty` only when no change came in meanwhile. */
  version: number;
  dirty: boolean;
  expirySet: boolean;
}

/**
 * How often a running bucket of a tier is written: every flush for minutes (the alerts and the
 * last-minute rate read them), every 10 s for ten minutes and hours (a day or a week on a chart
 * lags 10 s at most); a bucket that ended is written at the next flush. So a second costs about
 * 1.2 HSET per active queue.
 */
function writeEveryMs(tierMs: number): number {
  return Math.min(tierMs / 60, 10_000);
}

/** A flush that outlasts this is abandoned (its records stay dirty and go with the next one). */
const FLUSH_TIMEOUT_MS = 10_000;
/** The last flush at close waits at most this: a shutdown has its own bound. */
const CLOSE_FLUSH_MS = 3000;

/**
 * Writes this instance's share of the pool history (history-keys.ts): counts the `job-finished`
 * and `invalid` events into the current minute, ten minutes and hour of their queue, and every
 * `flushMs` writes the buckets that changed (the coarser ones less often, see writeEveryMs), one
 * HSET each (its expiry set once per bucket), in one round trip. A record is this run's running
 * total of the bucket, so writing it again is harmless: a flush that failed is simply made again
 * with newer numbers, and the cost per job falls as the rate rises (one flush a second carries
 * every job of that second). `close()` writes everything left.
 */
export class PoolHistoryWriter {
  readonly #o: PoolHistoryWriterOptions;
  readonly #clock: () => number;
  readonly #field: string;
  readonly #slots = new Map<string, Slot>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #attached = false;
  #closing: Promise<void> | undefined;
  #failing = false;
  /** Closing: the next flush writes every changed bucket, whatever its tier. */
  #final = false;
  readonly #onFinished = (info: ServiceEventMap['job-finished'][0]): void =>
    this.#count(info.queue, { kind: 'job', outcome: info.outcome, durationMs: info.durationMs });
  readonly #onInvalid = (info: ServiceEventMap['invalid'][0]): void => this.#count(info.queue, { kind: 'invalid' });

  constructor(options: PoolHistoryWriterOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#field = runField(options.instanceId, options.runId ?? randomBytes(4).toString('hex'));
  }

  /** Counts events from now on and flushes every `flushMs`. Idempotent. */
  start(): void {
    if (this.#attached || this.#closing) return;
    this.#attached = true;
    this.#o.events.on('job-finished', this.#onFinished);
    this.#o.events.on('invalid', this.#onInvalid);
    this.#timer = setInterval(() => {
      if (!this.#flushing) void this.flush();
    }, this.#o.flushMs ?? 1000);
    this.#timer.unref();
  }

  /** Stops counting and writes what is left (bounded by a timeout). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#o.events.off('job-finished', this.#onFinished);
    this.#o.events.off('invalid', this.#onInvalid);
    this.#attached = false;
    this.#final = true;
    // The last second's counts, if Redis answers now; a shutdown never waits for a Redis that is away.
    if (this.#o.redis.status === 'ready') {
      await withTimeout(this.flush(), CLOSE_FLUSH_MS, 'last history flush').catch(() => undefined);
    }
    const unwritten = [...this.#slots.values()].filter((s) => s.dirty).length;
    if (unwritten > 0) {
      this.#o.logger.warn(`histórico do pool: ${unwritten} balde(s) não gravado(s) na parada (Redis indisponível)`);
    }
  }

  /** Writes every changed bucket now; never throws (a failure is logged once and retried). */
  flush(): Promise<void> {
    const run = (this.#flushing ?? Promise.resolve()).then(() => this.#flushOnce());
    const done = run.finally(() => {
      if (this.#flushing === done) this.#flushing = undefined;
    });
    this.#flushing = done;
    return done;
  }

  #slot(queue: string, tier: Tier, now: number): Slot {
    const start = bucketStart(tier, now);
    const key = historyKey(this.#o.prefix, queue, tier, start);
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = {
        key,
        endMs: start + tier.ms,
        tierMs: tier.ms,
        tally: EMPTY_TALLY,
        writtenAt: Number.NEGATIVE_INFINITY,
        version: 0,
        dirty: false,
        expirySet: false,
      };
      this.#slots.set(key, slot);
    }
    return slot;
  }

  #count(queue: string, event: TallyEvent): void {
    const now = this.#clock();
    for (const tier of TIERS) {
      const slot = this.#slot(queue, tier, now);
      slot.tally = countEvent(slot.tally, event);
      slot.version++;
      slot.dirty = true;
    }
  }

  /** The gauges of now into the current buckets; a bucket is created only when they say something. */
  #sampleGauges(now: number): void {
    for (const queue of this.#o.queues) {
      let g: TallyGauges;
      try {
        g = this.#o.gauges(queue);
      } catch {
        continue;
      }
      for (const tier of TIERS) {
        const start = bucketStart(tier, now);
        const existing = this.#slots.get(historyKey(this.#o.prefix, queue, tier, start));
        const t = existing?.tally ?? EMPTY_TALLY;
        const next = withGauges(t, g, t.at);
        const changed =
          next.pending !== t.pending ||
          next.pendingMax !== t.pendingMax ||
          next.workers !== t.workers ||
          next.workersMax !== t.workersMax ||
          next.bridgeStuckSeconds !== t.bridgeStuckSeconds;
        if (!changed || (!existing && isEmptyTally(next))) continue;
        const slot = existing ?? this.#slot(queue, tier, now);
        slot.tally = next;
        slot.version++;
        slot.dirty = true;
      }
    }
  }

  async #flushOnce(): Promise<void> {
    const now = this.#clock();
    this.#sampleGauges(now);
    const final = this.#final;
    const batch = [...this.#slots.values()]
      .filter((s) => s.dirty && (final || s.endMs <= now || now - s.writtenAt >= writeEveryMs(s.tierMs)))
      .map((s) => ({ slot: s, version: s.version }));
    if (batch.length > 0) {
      const pipeline = this.#o.redis.pipeline();
      for (const { slot } of batch) {
        slot.tally = { ...slot.tally, at: now };
        pipeline.hset(slot.key, this.#field, encodeTally(slot.tally));
        if (!slot.expirySet) pipeline.pexpireat(slot.key, slot.endMs + this.#o.retentionMs);
      }
      try {
        const results = await withTimeout(pipeline.exec(), FLUSH_TIMEOUT_MS, 'history flush');
        const failed = results?.find(([err]) => err);
        if (failed?.[0]) throw failed[0];
        for (const { slot, version } of batch) {
          slot.expirySet = true;
          slot.writtenAt = now;
          if (slot.version === version) slot.dirty = false;
        }
        if (this.#failing) this.#o.logger.info('histórico do pool: gravação no Redis retomada');
        this.#failing = false;
      } catch (err) {
        if (!this.#failing) {
          this.#o.logger.warn(
            `histórico do pool: gravação no Redis falhou (${coerceError(err).message}); tentando de novo a cada segundo`,
          );
        }
        this.#failing = true;
      }
    }
    // Buckets written and over for a bucket's length are done (kept that long so a clock that
    // steps back a little adds to the record written, instead of starting it again from zero).
    for (const [key, slot] of this.#slots) {
      if (!slot.dirty && slot.endMs + slot.tierMs < now) this.#slots.delete(key);
    }
  }
}
