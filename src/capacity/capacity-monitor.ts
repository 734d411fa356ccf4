/**
 * Samples the load signals every second into the windows, the units' CPU into the per-queue cost
 * estimate, and keeps this instance's capacity current. The thin loop around
 * {@link computeCapacity}: read, add, compute, tell on change.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../lib/sleep.js';
import { parentMap } from '../workers/process-tree.js';
import { computeCapacity, type Capacity, type CapacityOptions } from './capacity.js';
import { cpuRatio, CpuSignal, type CpuReading } from './cpu-signal.js';
import { EventLoopSignal } from './event-loop-signal.js';
import { MemorySignal } from './memory-signal.js';
import { TreeCpu } from './tree-cpu.js';
import { UnitCost, type CostEvidence, type QueueCost } from './unit-cost.js';
import { UnitCpu, type QueueCpu } from './unit-cpu.js';
import { SampleWindow, type LoadSample, type OverloadThresholds, type WindowSummary } from './windows.js';

/** Where the monitor reads; each piece replaceable (tests pass fixtures). */
export interface LoadSources {
  readonly cpu: { read(): CpuReading | undefined };
  readonly ownCpuSeconds: () => number;
  readonly memory: { read(): { limitMb: number; usedMb: number; source?: string } | undefined };
  readonly eventLoopDelayMs: () => number;
  /** PSS of our browsers (latest measure of each) and how many browsers it covers. */
  readonly browsers: () => { mb: number; count: number };
  /** Units not closed (starting, ready, busy, draining), per queue. */
  readonly units: () => Readonly<Record<string, number>>;
  /** The units' CPU per queue since the last call; undefined when the interval does not count. */
  readonly unitCpu: () => Readonly<Record<string, QueueCpu>> | undefined;
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
  /** Every sample (once a second), changed or not. */
  sampled: [capacity: Capacity | undefined];
}

export interface CapacityView {
  readonly capacity: Capacity | undefined;
  /** Per queue: the measured CPU per busy unit and the evidence behind it. */
  readonly costs: Readonly<Record<string, QueueCost>>;
  readonly latest: LoadSample | undefined;
  readonly short: WindowSummary | undefined;
  readonly long: WindowSummary | undefined;
}

/**
 * The real signals of this machine: cgroup or /proc, our process tree, each unit's browser tree,
 * perf_hooks. `unitCpu.track()` follows a unit (the service calls it for every unit it makes).
 */
/**
 * This machine's load signals and the tracker of the units' CPU, built before the pool (the pool
 * hands every unit it makes to `tracker`); {@link LoadSources} adds the browsers' memory and the
 * pool's units to them.
 */
export function systemLoadSources(
  clock: Clock = Date.now,
): Omit<LoadSources, 'browsers' | 'units'> & { readonly tracker: UnitCpu; close(): void } {
  const cpu = new CpuSignal();
  // One read of /proc's parent links serves our tree and every browser's within one sample.
  let parents: { at: number; map: Map<number, number> } | undefined;
  const links = (): Map<number, number> => {
    const now = performance.now();
    if (!parents || now - parents.at > 200) parents = { at: now, map: parentMap() };
    return parents.map;
  };
  const own = new TreeCpu();
  const node = new TreeCpu({ tree: (pid) => [pid] });
  const tracker = new UnitCpu({
    clock,
    nodeCpu: () => node.read(),
    browserCpu: (pid) => new TreeCpu({ pid }),
    parents: links,
  });
  const memory = new MemorySignal();
  const loop = new EventLoopSignal();
  return {
    cpu,
    ownCpuSeconds: () => own.read(links()).cpuSeconds,
    memory,
    eventLoopDelayMs: () => loop.read(),
    unitCpu: () => tracker.sample(),
    tracker,
    close: () => loop.close(),
  };
}

export class CapacityMonitor extends EventEmitter<CapacityEvents> {
  readonly #o: CapacityMonitorOptions;
  readonly #clock: Clock;
  readonly #seconds: () => number;
  readonly #window: SampleWindow;
  readonly #thresholds: OverloadThresholds;
  readonly #costs: UnitCost;
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
    this.#costs = new UnitCost({
      halfLifeBusySeconds: options.options.unitCpuHalfLifeSeconds,
      minBusySeconds: options.options.unitCpuMinBusySeconds,
    });
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
      costs: this.#costs.view(),
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

  /**
   * Starts the queues this instance has not measured from the pool's evidence (see
   * {@link UnitCost.seed}) and recomputes at once; returns the queues that took it.
   */
  seedCosts(evidence: Readonly<Record<string, CostEvidence>>): string[] {
    const seeded = Object.entries(evidence)
      .filter(([queue, e]) => this.#costs.seed(queue, e))
      .map(([queue]) => queue);
    if (seeded.length > 0 && this.#capacity) this.#recompute();
    return seeded;
  }

  /** The queues this instance's units measured since the last call, with their evidence (for the pool). */
  takeChangedCosts(): Record<string, CostEvidence> {
    return this.#costs.takeChanged();
  }

  /** True when the queue's CPU per unit comes from this instance's own units. */
  measuredHere(queue: string): boolean {
    return this.#costs.isLocal(queue);
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
    const unitCpu = sources.unitCpu();
    if (unitCpu) this.#costs.add(unitCpu);
    if (!cpu || !previous || !previousOwn || wall <= previousOwn.at) {
      // Before two readings exist: the configured bounds, no gate.
      if (!this.#capacity) this.#apply({ short: undefined, long: undefined, units: sources.units(), perUnit: {} });
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
    this.#recompute();
    this.emit('sampled', this.#capacity);
    return this.#capacity;
  }

  /** Capacity from the windows, the units and the costs as they are now. */
  #recompute(): void {
    const view = this.view();
    this.#apply({ short: view.short, long: view.long, units: this.#o.sources.units(), perUnit: this.#costs.perUnit() });
  }

  #apply(input: Parameters<typeof computeCapacity>[0]): void {
    const next = computeCapacity(input, this.#o.options);
    const before = this.#capacity;
    this.#capacity = next;
    if (
      !before ||
      before.units !== next.units ||
      before.otherUnits !== next.otherUnits ||
      before.overloaded !== next.overloaded ||
      before.cpu?.overloaded !== next.cpu?.overloaded ||
      costsMoved(before.cpu?.perUnit, next.cpu?.perUnit)
    )
      this.emit('changed', next);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** A queue got its first measurement, or one moved by more than 10%: the decision should look again. */
function costsMoved(
  a: Readonly<Record<string, number>> | undefined,
  b: Readonly<Record<string, number>> | undefined,
): boolean {
  const before = a ?? {};
  const after = b ?? {};
  for (const [q, cost] of Object.entries(after)) {
    const old = before[q];
    if (old === undefined || Math.abs(cost - old) > 0.1 * old) return true;
  }
  return false;
}
