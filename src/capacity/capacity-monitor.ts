/**
 * Samples the load signals every second into the windows and keeps this instance's capacity
 * current. The thin loop around {@link computeCapacity}: read, add, compute, tell on change.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../lib/sleep.js';
import { computeCapacity, type Capacity, type CapacityMemory, type CapacityOptions } from './capacity.js';
import { cpuRatio, CpuSignal, type CpuReading } from './cpu-signal.js';
import { EventLoopSignal } from './event-loop-signal.js';
import { MemorySignal } from './memory-signal.js';
import { OwnCpu } from './own-cpu.js';
import { SampleWindow, type LoadSample, type OverloadThresholds, type WindowSummary } from './windows.js';

/** Where the monitor reads; each piece replaceable (tests pass fixtures). */
export interface LoadSources {
  readonly cpu: { read(): CpuReading | undefined };
  readonly ownCpuSeconds: () => number;
  readonly memory: { read(): { limitMb: number; usedMb: number; source?: string } | undefined };
  readonly eventLoopDelayMs: () => number;
  /** PSS of our browsers (latest measure of each) and how many browsers it covers. */
  readonly browsers: () => { mb: number; count: number };
  /** Units not closed (starting, ready, busy, draining). */
  readonly units: () => number;
}

export interface CapacityMonitorOptions {
  readonly options: CapacityOptions;
  readonly sources: LoadSources;
  /** @defaultValue 1000 */
  readonly sampleIntervalMs?: number;
  readonly clock?: Clock;
  /** Seconds of CPU time, monotonic (pairs with the cgroup counters). */
  readonly monotonicSeconds?: () => number;
}

export interface CapacityEvents {
  /** Units or the gate changed: the scaler should look again. */
  changed: [capacity: Capacity];
}

export interface CapacityView {
  readonly capacity: Capacity | undefined;
  readonly latest: LoadSample | undefined;
  readonly short: WindowSummary | undefined;
  readonly long: WindowSummary | undefined;
}

/** The real signals of this machine: cgroup or /proc, our process tree, perf_hooks. */
export function systemLoadSources(extra: Pick<LoadSources, 'browsers' | 'units'>): LoadSources & { close(): void } {
  const cpu = new CpuSignal();
  const own = new OwnCpu();
  const memory = new MemorySignal();
  const loop = new EventLoopSignal();
  return {
    cpu,
    ownCpuSeconds: () => own.read(),
    memory,
    eventLoopDelayMs: () => loop.read(),
    ...extra,
    close: () => loop.close(),
  };
}

export class CapacityMonitor extends EventEmitter<CapacityEvents> {
  readonly #o: CapacityMonitorOptions;
  readonly #clock: Clock;
  readonly #seconds: () => number;
  readonly #window: SampleWindow;
  readonly #thresholds: OverloadThresholds;
  #memory: CapacityMemory = {};
  #capacity: Capacity | undefined;
  #lastCpu: CpuReading | undefined;
  #lastOwn: { seconds: number; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: CapacityMonitorOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#seconds = options.monotonicSeconds ?? (() => performance.now() / 1000);
    this.#window = new SampleWindow(options.options.longWindowSeconds * 1000);
    const { maxCpuRatio, maxMemoryRatio, maxEventLoopDelayMs } = options.options;
    this.#thresholds = { maxCpuRatio, maxMemoryRatio, maxEventLoopDelayMs };
  }

  /** The capacity; undefined until the first sample pair. */
  get capacity(): Capacity | undefined {
    return this.#capacity;
  }

  view(): CapacityView {
    const now = this.#clock();
    const { shortWindowSeconds, longWindowSeconds } = this.#o.options;
    return {
      capacity: this.#capacity,
      latest: this.#window.latest,
      short: this.#window.summarize(shortWindowSeconds * 1000, now, this.#thresholds),
      long: this.#window.summarize(longWindowSeconds * 1000, now, this.#thresholds),
    };
  }

  start(): void {
    if (this.#timer) return;
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.#o.sampleIntervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Takes one sample and recomputes; the first call only sets the CPU baseline. */
  sample(): Capacity | undefined {
    const { sources } = this.#o;
    const now = this.#clock();
    const cpu = sources.cpu.read();
    const ownSeconds = sources.ownCpuSeconds();
    const wall = this.#seconds();
    const previous = this.#lastCpu;
    const previousOwn = this.#lastOwn;
    this.#lastCpu = cpu;
    this.#lastOwn = { seconds: ownSeconds, at: wall };
    const loopDelay = sources.eventLoopDelayMs();
    if (!cpu || !previous || !previousOwn || wall <= previousOwn.at) {
      // Before two readings exist: the cores alone, no gate (the scaler must not see "no bound").
      if (!this.#capacity && cpu)
        this.#apply({ short: undefined, long: undefined, units: sources.units(), cores: cpu.cores });
      return this.#capacity;
    }
    const mem = sources.memory.read();
    const browsers = sources.browsers();
    this.#window.add({
      at: now,
      cores: cpu.cores,
      cpuRatio: cpuRatio(previous, cpu),
      ourCores: Math.max(0, (ownSeconds - previousOwn.seconds) / (wall - previousOwn.at)),
      memoryUsedMb: mem?.usedMb ?? 0,
      memoryLimitMb: mem?.limitMb ?? 0,
      browserMb: browsers.mb,
      browsersMeasured: browsers.count,
      eventLoopDelayMs: loopDelay,
    });
    const view = this.view();
    this.#apply({ short: view.short, long: view.long, units: sources.units() });
    return this.#capacity;
  }

  #apply(input: Parameters<typeof computeCapacity>[0]): void {
    const next = computeCapacity(input, this.#o.options, this.#memory);
    this.#memory = next.memory;
    const before = this.#capacity;
    this.#capacity = next.capacity;
    if (!before || before.units !== next.capacity.units || before.overloaded !== next.capacity.overloaded)
      this.emit('changed', next.capacity);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
