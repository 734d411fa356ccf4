/**
 * One-second load samples kept for the long window, summarised over a short (5 s) and a long
 * (30 s) window, as Crawlee's Snapshotter/SystemStatus do. A sample is "overloaded" per signal
 * when it passes that signal's threshold; a window's overloaded ratio is the share of its samples
 * that were. Pure: time is each sample's `at` and the `now` passed in.
 */

export interface LoadSample {
  /** Wall-clock ms. */
  readonly at: number;
  /** Cores this instance may use (quota or processors). */
  readonly cores: number;
  /** Share of those cores in use, by anyone, over the last second (0..1). */
  readonly cpuRatio: number;
  /** Cores used by this process and its browsers over the last second. */
  readonly ourCores: number;
  readonly memoryUsedMb: number;
  readonly memoryLimitMb: number;
  /** PSS of our browsers' process trees (latest measure of each). */
  readonly browserMb: number;
  /** Browsers that measure covers. */
  readonly browsersMeasured: number;
  /** Event-loop delay p99 over the last second. */
  readonly eventLoopDelayMs: number;
}

export interface OverloadThresholds {
  readonly maxCpuRatio: number;
  readonly maxMemoryRatio: number;
  readonly maxEventLoopDelayMs: number;
}

export interface WindowSummary {
  readonly samples: number;
  readonly cores: number;
  readonly cpuRatio: number;
  readonly ourCores: number;
  /** Cores used by other processes: busy cores minus ours, never below 0. */
  readonly otherCores: number;
  readonly memoryUsedMb: number;
  readonly memoryLimitMb: number;
  readonly browserMb: number;
  readonly browsersMeasured: number;
  readonly eventLoopDelayMs: number;
  /** Share of samples over each threshold (0..1). */
  readonly overloaded: { readonly cpu: number; readonly memory: number; readonly eventLoop: number };
}

export class SampleWindow {
  readonly #keepMs: number;
  #samples: LoadSample[] = [];

  /** @param keepMs the longest window asked for. @defaultValue 30000 */
  constructor(keepMs = 30_000) {
    this.#keepMs = keepMs;
  }

  /** Adds a sample; a clock that jumped backwards empties the window (old samples would look new). */
  add(sample: LoadSample): void {
    const last = this.#samples.at(-1);
    if (last && sample.at < last.at) this.#samples = [];
    this.#samples.push(sample);
    const oldest = sample.at - this.#keepMs;
    while ((this.#samples[0]?.at ?? Infinity) <= oldest) this.#samples.shift();
  }

  get latest(): LoadSample | undefined {
    return this.#samples.at(-1);
  }

  /** Samples within `windowMs` up to `now`. */
  within(windowMs: number, now: number): LoadSample[] {
    return this.#samples.filter((s) => s.at > now - windowMs && s.at <= now);
  }

  summarize(windowMs: number, now: number, thresholds: OverloadThresholds): WindowSummary | undefined {
    return summarize(this.within(windowMs, now), thresholds);
  }
}

export function summarize(samples: readonly LoadSample[], t: OverloadThresholds): WindowSummary | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  const mean = (f: (s: LoadSample) => number): number => samples.reduce((sum, s) => sum + f(s), 0) / n;
  const share = (f: (s: LoadSample) => boolean): number => samples.filter(f).length / n;
  const last = samples[n - 1] as LoadSample;
  return {
    samples: n,
    cores: last.cores,
    cpuRatio: mean((s) => s.cpuRatio),
    ourCores: mean((s) => s.ourCores),
    otherCores: mean((s) => Math.max(0, s.cpuRatio * s.cores - s.ourCores)),
    memoryUsedMb: last.memoryUsedMb,
    memoryLimitMb: last.memoryLimitMb,
    browserMb: last.browserMb,
    browsersMeasured: last.browsersMeasured,
    eventLoopDelayMs: Math.max(...samples.map((s) => s.eventLoopDelayMs)),
    overloaded: {
      cpu: share((s) => s.cpuRatio >= t.maxCpuRatio),
      memory: share((s) => s.memoryLimitMb > 0 && s.memoryUsedMb / s.memoryLimitMb >= t.maxMemoryRatio),
      eventLoop: share((s) => s.eventLoopDelayMs >= t.maxEventLoopDelayMs),
    },
  };
}
