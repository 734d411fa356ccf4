import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { coerceError } from '../lib/errors.js';
import { sleep, systemClock, type Clock } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { PoolMembership, PoolSnapshot } from './pool-membership.js';

/** Longest wait for the last beat and the leave at shutdown. */
const CLOSE_TIMEOUT_MS = 1000;

export interface InstanceHeartbeatOptions {
  readonly membership: PoolMembership;
  readonly id: string;
  /** Its bridge's id, so that a live instance takes over its processing lists when it dies. */
  readonly bridgeId?: string;
  readonly version: string;
  /** Most units this instance may run, read at every beat (it may change at run time). */
  readonly capacity: () => number;
  /** Live units per queue now. */
  readonly units: () => Record<string, number>;
  /** Time between beats; silent for 3 = dead. @defaultValue 2000 */
  readonly intervalMs: number;
  readonly logger: Logger;
  /**
   * After every beat: the pool as Redis sees it, the slots this instance still holds and when the
   * beat was sent (units claimed after that are not in `held` yet).
   */
  readonly onBeat?: (snapshot: PoolSnapshot, held: readonly { queue: string; n: number }[], sentAt: number) => void;
  /**
   * As soon as Redis has renewed this instance and its slots (before the snapshot is read): the
   * slots it still holds and when, on `monotonic`, the renewal was sent (self-fencing).
   */
  readonly onRenewed?: (held: readonly { queue: string; n: number }[], sentAtMonotonic: number) => void;
  /** @defaultValue Date.now */
  readonly clock?: Clock;
  /** Beats are sent at a fixed rate on it; `onRenewed` gets its times. @defaultValue performance.now */
  readonly monotonic?: Clock;
}

/**
 * Publishes this instance into the pool every `intervalMs` and keeps the last view of the pool.
 * A failed beat is logged once until one succeeds again; the loop never throws.
 */
export class InstanceHeartbeat {
  readonly #options: InstanceHeartbeatOptions;
  readonly #clock: Clock;
  readonly #monotonic: Clock;
  readonly #stop = new AbortController();
  readonly #startedAt: number;
  #last: PoolSnapshot | undefined;
  #failing = false;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: InstanceHeartbeatOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#monotonic = options.monotonic ?? (() => performance.now());
    this.#startedAt = this.#clock();
  }

  /** The pool at the last successful beat; undefined before the first. */
  get last(): PoolSnapshot | undefined {
    return this.#last;
  }

  /** Beats once (so the pool knows this instance before it decides), then every interval. */
  async start(): Promise<void> {
    if (this.#loop) return;
    await this.beat();
    this.#loop = this.#run();
  }

  /** At a fixed rate (a slow answer does not push the next beat back: renewals stay regular). */
  async #run(): Promise<void> {
    let sentAt = this.#monotonic();
    while (!this.#stop.signal.aborted) {
      await sleep(Math.max(0, this.#options.intervalMs - (this.#monotonic() - sentAt)), this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      sentAt = this.#monotonic();
      await this.beat();
    }
  }

  /** One beat; errors are logged, never thrown. */
  async beat(): Promise<PoolSnapshot | undefined> {
    const { membership, id, version, logger } = this.#options;
    const sentAt = this.#clock();
    const sentAtMonotonic = this.#monotonic();
    try {
      const held = await membership.beat({
        id,
        ...(this.#options.bridgeId ? { bridgeId: this.#options.bridgeId } : {}),
        host: os.hostname(),
        version,
        pid: process.pid,
        capacity: this.#options.capacity(),
        units: this.#options.units(),
        beatAt: sentAt,
        startedAt: this.#startedAt,
      });
      this.#options.onRenewed?.(held, sentAtMonotonic);
      const snapshot = await membership.snapshot();
      this.#last = snapshot;
      if (this.#failing) logger.info(`heartbeat da instância ${id} restabelecido`);
      this.#failing = false;
      this.#options.onBeat?.(snapshot, held, sentAt);
      return snapshot;
    } catch (err) {
      if (!this.#failing) logger.warn(`heartbeat da instância ${id} falhou: ${coerceError(err).message}`);
      this.#failing = true;
      return undefined;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      // A beat or the leave may wait on an unreachable Redis: the expiry removes this instance then.
      await withTimeout(
        (async () => {
          await this.#loop;
          await this.#options.membership.leave(this.#options.id);
        })(),
        CLOSE_TIMEOUT_MS,
        'leaving the pool',
      ).catch(() => undefined);
    })();
    return this.#closing;
  }
}
