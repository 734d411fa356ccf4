/**
 * Progress of a demo run, pure: counts, throughput over a sliding window and its peak. Time is
 * passed in, so tests can drive it with plain numbers.
 */

/** Options for {@link ProgressTracker}. */
export interface ProgressOptions {
  /** Jobs expected; `undefined` when the writer runs unbounded. */
  readonly total?: number;
  /** When counting started (ms). */
  readonly startedAtMs: number;
  /** Throughput is measured over this much recent time. @defaultValue 30_000 */
  readonly windowMs?: number;
  /** No rate counts toward the peak before this much time has passed (avoids a spike from one early job). @defaultValue 10_000 */
  readonly warmupMs?: number;
}

export interface ProgressSnapshot {
  readonly total: number | undefined;
  readonly done: number;
  readonly ok: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Completions per minute over the recent window. */
  readonly perMinute: number;
  /** Highest {@link perMinute} seen so far. */
  readonly peakPerMinute: number;
}

export class ProgressTracker {
  readonly #total: number | undefined;
  readonly #startedAtMs: number;
  readonly #windowMs: number;
  readonly #warmupMs: number;
  /** Completion times still inside the window, oldest first. */
  readonly #recent: number[] = [];
  #ok = 0;
  #errors = 0;
  #peak = 0;

  constructor(options: ProgressOptions) {
    this.#total = options.total;
    this.#startedAtMs = options.startedAtMs;
    this.#windowMs = options.windowMs ?? 30_000;
    this.#warmupMs = options.warmupMs ?? 10_000;
  }

  get done(): number {
    return this.#ok + this.#errors;
  }

  /** True once `total` results arrived (never for an unbounded run). */
  get complete(): boolean {
    return this.#total !== undefined && this.done >= this.#total;
  }

  record(status: 'ok' | 'error', nowMs: number): void {
    if (status === 'ok') this.#ok += 1;
    else this.#errors += 1;
    this.#recent.push(nowMs);
    this.#rate(nowMs);
  }

  snapshot(nowMs: number): ProgressSnapshot {
    const perMinute = this.#rate(nowMs);
    return {
      total: this.#total,
      done: this.done,
      ok: this.#ok,
      errors: this.#errors,
      elapsedMs: Math.max(0, nowMs - this.#startedAtMs),
      perMinute,
      peakPerMinute: this.#peak,
    };
  }

  /** Completions per minute in the window ending at `nowMs` (shorter while the run is younger); updates the peak. */
  #rate(nowMs: number): number {
    while (this.#recent.length > 0 && (this.#recent[0] ?? 0) <= nowMs - this.#windowMs) this.#recent.shift();
    const elapsed = nowMs - this.#startedAtMs;
    const span = Math.min(this.#windowMs, elapsed);
    if (span <= 0) return 0;
    const perMinute = (this.#recent.length * 60_000) / span;
    if (elapsed >= this.#warmupMs) this.#peak = Math.max(this.#peak, perMinute);
    return perMinute;
  }
}

/** `2m 05s`, `45s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** One progress line: `120/325 done (37%) · 95 jobs/min · 0 errors · 1m 12s`. */
export function progressLine(p: ProgressSnapshot): string {
  const done =
    p.total === undefined
      ? `${p.done} done`
      : `${p.done}/${p.total} done (${p.total === 0 ? 100 : Math.floor((p.done * 100) / p.total)}%)`;
  const errors = `${p.errors} error${p.errors === 1 ? '' : 's'}`;
  return `${done} · ${Math.round(p.perMinute)} jobs/min · ${errors} · ${formatDuration(p.elapsedMs)}`;
}

/** The end-of-run summary, one fact a line. */
export function summaryLines(p: ProgressSnapshot): string[] {
  const total = p.total === undefined ? `${p.done}` : `${p.done} of ${p.total}`;
  const average = p.elapsedMs > 0 ? (p.done * 60_000) / p.elapsedMs : 0;
  return [
    `  results:    ${total}`,
    `  ok:         ${p.ok}`,
    `  errors:     ${p.errors}`,
    `  duration:   ${formatDuration(p.elapsedMs)}`,
    `  throughput: ${Math.round(average)} jobs/min on average, peak ${Math.round(Math.max(p.peakPerMinute, average))} jobs/min`,
  ];
}
