import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay of this process (perf_hooks), read and reset once per sample. */
export class EventLoopSignal {
  readonly #histogram: IntervalHistogram;

  constructor(resolutionMs = 20) {
    this.#histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#histogram.enable();
  }

  /** The 99th percentile of the delay since the last read, in ms. */
  read(): number {
    const p99 = this.#histogram.count > 0 ? this.#histogram.percentile(99) / 1e6 : 0;
    this.#histogram.reset();
    return Number.isFinite(p99) ? p99 : 0;
  }

  close(): void {
    this.#histogram.disable();
  }
}
