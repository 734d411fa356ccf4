import { sleep } from '../../lib/sleep.js';

/** Latency and HTTP 500 injection for the demo portal. */
export interface FaultOptions {
  /** Added to every response. @defaultValue 0 */
  latencyMs: number;
  /**
   * Each response's latency varies by up to this much either way (uniform), as a real portal's
   * does: exact latencies keep units that a slot limit serves together in lockstep. @defaultValue 0
   */
  latencyJitterMs?: number;
  /** Probability (0..1) that a request answers HTTP 500. @defaultValue 0 */
  errorRate: number;
  /** Source of randomness for `errorRate` and `latencyJitterMs`. @defaultValue Math.random */
  random: () => number;
}

interface ForcedFailure {
  remaining: number;
  pathPrefix: string;
}

/** Decides, per request, whether to delay and whether to fail. */
export class FaultInjector {
  #latencyMs: number;
  #jitterMs: number;
  #errorRate: number;
  readonly #random: () => number;
  readonly #forced: ForcedFailure[] = [];

  constructor(options: FaultOptions) {
    this.#latencyMs = options.latencyMs;
    this.#jitterMs = Math.max(0, options.latencyJitterMs ?? 0);
    this.#errorRate = options.errorRate;
    this.#random = options.random;
  }

  setLatencyMs(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  setLatencyJitterMs(ms: number): void {
    this.#jitterMs = Math.max(0, ms);
  }

  setErrorRate(rate: number): void {
    this.#errorRate = Math.min(1, Math.max(0, rate));
  }

  /** The next `count` requests whose path starts with `pathPrefix` answer HTTP 500 (deterministic). */
  failNext(count: number, pathPrefix = '/'): void {
    if (count > 0) this.#forced.push({ remaining: count, pathPrefix });
  }

  /** Requests still forced to fail. */
  get pendingForcedFailures(): number {
    return this.#forced.reduce((sum, f) => sum + f.remaining, 0);
  }

  /** Waits the configured latency, give or take the jitter (cut short when `signal` aborts). */
  async delay(signal: AbortSignal): Promise<void> {
    if (this.#latencyMs <= 0) return;
    const jitter = this.#jitterMs > 0 ? (this.#random() * 2 - 1) * this.#jitterMs : 0;
    const ms = Math.max(0, Math.round(this.#latencyMs + jitter));
    if (ms > 0) await sleep(ms, signal);
  }

  /** True when this request must answer HTTP 500; consumes one forced failure if one matches. */
  shouldFail(path: string): boolean {
    const forced = this.#forced.find((f) => path.startsWith(f.pathPrefix));
    if (forced) {
      forced.remaining -= 1;
      if (forced.remaining <= 0) this.#forced.splice(this.#forced.indexOf(forced), 1);
      return true;
    }
    return this.#errorRate > 0 && this.#random() < this.#errorRate;
  }
}
