/**
 * Self-fencing: an instance that cannot renew its heartbeat and unit slots (Redis unreachable for
 * it, e.g. a network partition) stops its units before its slots can lapse, so that no other
 * instance can start units in their place while its browsers still run.
 *
 * A renewal sent at time `t` keeps every slot of this instance alive until at least `t + ttlMs` in
 * Redis (the beat's script renews them to Redis's `now + ttlMs`, and Redis runs it at `t` or
 * later). So measured on this instance's own monotonic clock from the *sending* of its last
 * successful renewal, fencing at `ttlMs - renewEveryMs` leaves one renewal interval to close the
 * units. The bound assumes this process runs: a process paused as a whole (SIGSTOP, a very long
 * GC pause) cannot fence itself, and then only BullMQ's global concurrency bounds active jobs.
 *
 * It also fences at once when Redis refuses a beat (another process holds this instance id now,
 * or another pool took the prefix): this instance's slots may be counted for someone else then.
 *
 * The one owner of the fenced flag: the worker pool and the scaler read {@link SelfFence.fenced}.
 */
import { performance } from 'node:perf_hooks';
import { sleep, type Clock } from '../lib/sleep.js';
import type { FenceStatus } from '../shared/status.js';
import type { Refusal } from './pool-membership.js';

/** Why the instance fenced itself. */
export type FenceCause =
  /** No renewal reached Redis for `silentMs` (more than the lease minus one renewal interval). */
  | { readonly kind: 'silent'; readonly silentMs: number }
  /** Redis refused a beat: see {@link Refusal}. */
  | { readonly kind: 'refused'; readonly refusal: Refusal };

export interface SelfFenceOptions {
  /** Heartbeats and slots lapse this long after their last renewal. */
  readonly ttlMs: number;
  /** Time between renewals (the heartbeat interval). */
  readonly renewEveryMs: number;
  /** How often the watchdog looks. @defaultValue 100 */
  readonly checkEveryMs?: number;
  /** The fence starts: close every unit, start none. */
  readonly onFence: (cause: FenceCause) => void;
  /** Monotonic ms. @defaultValue performance.now */
  readonly clock?: Clock;
  /** Wall clock, for reporting only. @defaultValue Date.now */
  readonly wallClock?: Clock;
}

/** What `/readyz` and `/metrics` show (the pool adds its open units). */
export type FenceState = Omit<FenceStatus, 'openUnits'>;

/** True when the slots may lapse within one more renewal interval: fence now. Pure. */
export function fenceDue(lastRenewalAt: number, now: number, ttlMs: number, renewEveryMs: number): boolean {
  return now - lastRenewalAt > ttlMs - renewEveryMs;
}

/** Watches the renewals; see the module comment. */
export class SelfFence {
  readonly #options: SelfFenceOptions;
  readonly #clock: Clock;
  readonly #wall: Clock;
  readonly #stop = new AbortController();
  /** Monotonic and wall time of the last successful renewal's sending. */
  #renewed: { at: number; wallAt: number } | undefined;
  #fenced: { at: number; wallAt: number; cause: FenceCause; closedWallAt?: number } | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: SelfFenceOptions) {
    this.#options = options;
    this.#clock = options.clock ?? (() => performance.now());
    this.#wall = options.wallClock ?? Date.now;
  }

  /** This instance's monotonic time: what {@link renewed} expects. */
  now(): number {
    return this.#clock();
  }

  get fenced(): boolean {
    return this.#fenced !== undefined;
  }

  /** Why the current fence started; undefined when not fenced. */
  get cause(): FenceCause | undefined {
    return this.#fenced?.cause;
  }

  state(): FenceState {
    return {
      fenced: this.fenced,
      lastRenewalAt: this.#renewed?.wallAt,
      fencedAt: this.#fenced?.wallAt,
      unitsClosedAt: this.#fenced?.closedWallAt,
      leaseMs: this.#options.ttlMs,
    };
  }

  /** Starts watching (call after the first successful renewal). Idempotent. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * A renewal sent at `sentAt` ({@link now}) succeeded. Returns true when it ends a fence: it
   * was sent after the fence started, so this instance is registered again and its slots (if it
   * still holds any) renewed.
   */
  renewed(sentAt: number): boolean {
    const wallAt = this.#wall() - (this.#clock() - sentAt);
    if (!this.#renewed || sentAt > this.#renewed.at) this.#renewed = { at: sentAt, wallAt };
    if (!this.#fenced || sentAt < this.#fenced.at) return false;
    this.#fenced = undefined;
    return true;
  }

  /**
   * Fences now: Redis refused a beat, so this instance's slots may be counted for another process.
   * Lifted like any fence, by a renewal sent after it. Nothing happens while already fenced.
   */
  fenceNow(refusal: Refusal): void {
    if (this.#fenced) return;
    const cause: FenceCause = { kind: 'refused', refusal };
    this.#fenced = { at: this.#clock(), wallAt: this.#wall(), cause };
    this.#options.onFence(cause);
  }

  /** Every unit the fence closed has closed (recorded once per fence, for `/readyz`). */
  unitsClosed(): void {
    if (this.#fenced && this.#fenced.closedWallAt === undefined) this.#fenced.closedWallAt = this.#wall();
  }

  /** One look; the loop calls it every `checkEveryMs`. */
  check(): void {
    const last = this.#renewed;
    if (this.#fenced || !last) return;
    const now = this.#clock();
    const { ttlMs, renewEveryMs } = this.#options;
    if (!fenceDue(last.at, now, ttlMs, renewEveryMs)) return;
    const cause: FenceCause = { kind: 'silent', silentMs: now - last.at };
    this.#fenced = { at: now, wallAt: this.#wall(), cause };
    this.#options.onFence(cause);
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      this.check();
      await sleep(this.#options.checkEveryMs ?? 100, this.#stop.signal);
    }
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
