/**
 * What the units of each queue cost in CPU, sampled (every second): per queue, the busy
 * unit-seconds (time units spent in a job), the CPU their process trees used (each unit's
 * Chromium, and this Node process's CPU shared among the busy units in proportion to their busy
 * time: Playwright, BullMQ and the flow run there) and how long those processes waited, runnable,
 * for a CPU. The wait lets {@link UnitCost} tell what a unit would use on a free machine from
 * what it got on a full one. A unit starting or in its first job is left out of the interval: a
 * browser launch, the portal login and the first page cost more CPU than any later job and say
 * nothing about the next ones. The other units still count (a burst's first units are measured
 * while the rest launch): the Node process's CPU is shared among all units as if the left-out ones
 * were busy the whole interval (Playwright drives their launch and login there too), and their
 * shares are dropped.
 *
 * Each sample also keeps what the units at work (every unit but those launching their browser,
 * first jobs included) used over the interval, in cores: before a queue has a measurement, it
 * tells whether the machine has room for one more browser.
 */
import type { Clock } from '../lib/sleep.js';
import type { UnitState } from '../workers/unit-state.js';
import type { TreeCpuReading } from './tree-cpu.js';

/** What the tracker needs of a worker unit (WorkerUnit satisfies it). */
export interface TrackedUnit {
  readonly name: string;
  readonly state: UnitState;
  /** Its browser's main process, while one runs (absent for flows without a browser). */
  readonly browserPid?: number | undefined;
  on(event: 'state', listener: (to: UnitState, from: UnitState) => void): unknown;
}

/** One queue over one interval. */
export interface QueueCpu {
  /** Unit-seconds spent in jobs. */
  readonly busySeconds: number;
  /** CPU-seconds of the queue's units (their browsers, and their share of this Node process). */
  readonly cpuSeconds: number;
  /** Seconds those processes' main threads waited for a CPU. */
  readonly waitSeconds: number;
}

/** A CPU counter of a process tree, read again and again. */
export interface TreeCounter {
  readonly pid: number;
  read(parents?: ReadonlyMap<number, number>): TreeCpuReading;
}

export interface UnitCpuOptions {
  readonly clock: Clock;
  /** This Node process alone (not its children). */
  readonly nodeCpu: () => TreeCpuReading;
  /** A counter for the tree of one browser. */
  readonly browserCpu: (pid: number) => TreeCounter;
  /** pid → parent pid of the machine, read once per sample for all browser trees. */
  readonly parents?: () => ReadonlyMap<number, number> | undefined;
}

interface Tracked {
  readonly queue: string;
  readonly unit: TrackedUnit;
  busySince: number | undefined;
  busyMs: number;
  /** Not yet through one whole interval. */
  fresh: boolean;
  /** When it finished its first job (that one, with the login and the first page, is not a measure). */
  warmAt: number | undefined;
  closed: boolean;
  counter?: TreeCounter;
  last?: TreeCpuReading;
}

const diff = (a: TreeCpuReading, b: TreeCpuReading): TreeCpuReading => ({
  cpuSeconds: Math.max(0, a.cpuSeconds - b.cpuSeconds),
  waitSeconds: Math.max(0, a.waitSeconds - b.waitSeconds),
});

export class UnitCpu {
  readonly #o: UnitCpuOptions;
  readonly #units = new Map<string, Tracked>();
  #node: TreeCpuReading | undefined;
  #lastSampleAt = -Infinity;
  #workingCores: number | undefined;

  constructor(options: UnitCpuOptions) {
    this.#o = options;
  }

  /** Follows a unit from now until it closes. */
  track(queue: string, unit: TrackedUnit): void {
    const t: Tracked = { queue, unit, busySince: undefined, busyMs: 0, fresh: true, warmAt: undefined, closed: false };
    if (unit.state === 'busy') t.busySince = this.#o.clock();
    this.#units.set(unit.name, t);
    unit.on('state', (to, from) => {
      const now = this.#o.clock();
      // A unit retired mid-job (busy → draining) is still in its job until it closes.
      if (to === 'busy') t.busySince = now;
      else if (to === 'ready' || to === 'closed' || (to === 'draining' && from !== 'busy')) {
        if (t.busySince !== undefined) t.busyMs += Math.max(0, now - t.busySince);
        t.busySince = undefined;
      }
      if (to === 'ready' && from === 'busy') t.warmAt ??= now;
      if (to === 'closed') t.closed = true;
    });
  }

  /** Cores the units at work (not launching) used over the last sampled interval; undefined before two samples. */
  get workingCores(): number | undefined {
    return this.#workingCores;
  }

  /**
   * The interval since the last call, per queue; undefined on the first call and when no unit
   * counts in it (every one starting, in its first job, or idle with nothing measured).
   */
  sample(): Record<string, QueueCpu> | undefined {
    const now = this.#o.clock();
    const since = this.#lastSampleAt;
    this.#lastSampleAt = now;
    const intervalSeconds = Number.isFinite(since) ? Math.max(0, now - since) / 1000 : 0;
    const parents = this.#o.parents?.();
    const node = this.#o.nodeCpu();
    const nodeDelta = this.#node ? diff(node, this.#node) : undefined;
    this.#node = node;
    const perUnit: {
      queue: string;
      busy: number;
      own: TreeCpuReading;
      counts: boolean;
      weight: number;
      working: boolean;
    }[] = [];
    for (const [name, t] of this.#units) {
      let busyMs = t.busyMs;
      if (t.busySince !== undefined) {
        busyMs += Math.max(0, now - t.busySince);
        t.busySince = now;
      }
      t.busyMs = 0;
      let own: TreeCpuReading = { cpuSeconds: 0, waitSeconds: 0 };
      let baseline = false;
      const pid = t.unit.browserPid;
      if (pid !== undefined && !t.closed) {
        if (t.counter?.pid !== pid) {
          // A new browser (launch or relaunch): its first reading is the baseline.
          t.counter = this.#o.browserCpu(pid);
          t.last = undefined;
        }
        const reading = t.counter.read(parents);
        if (t.last) own = diff(reading, t.last);
        else baseline = true;
        t.last = reading;
      }
      const firstJob =
        (t.warmAt === undefined && t.busySince !== undefined) || (t.warmAt !== undefined && t.warmAt > since);
      const left = baseline || t.fresh || t.unit.state === 'starting' || firstJob;
      t.fresh = false;
      const busy = busyMs / 1000;
      // A left-out unit drove Playwright all interval long (a launch, a login) or for its busy time.
      const weight = left ? Math.max(busy, pid !== undefined ? intervalSeconds : 0) : busy;
      const working = t.unit.state !== 'starting' && !t.closed;
      perUnit.push({ queue: t.queue, busy, own, counts: !left, weight, working });
      if (t.closed) this.#units.delete(name);
    }
    if (!nodeDelta) return undefined;
    const totalWeight = perUnit.reduce((sum, u) => sum + u.weight, 0);
    const shareOf = (u: (typeof perUnit)[number]): number => (totalWeight > 0 ? u.weight / totalWeight : 0);
    if (intervalSeconds > 0) {
      const workingCpu = perUnit
        .filter((u) => u.working)
        .reduce((sum, u) => sum + u.own.cpuSeconds + nodeDelta.cpuSeconds * shareOf(u), 0);
      this.#workingCores = workingCpu / intervalSeconds;
    }
    const counted = perUnit.filter((u) => u.counts && u.busy > 0);
    if (counted.length === 0) return undefined;
    const out: Record<string, { busySeconds: number; cpuSeconds: number; waitSeconds: number }> = {};
    for (const u of counted) {
      const q = (out[u.queue] ??= { busySeconds: 0, cpuSeconds: 0, waitSeconds: 0 });
      const share = shareOf(u);
      q.busySeconds += u.busy;
      q.cpuSeconds += u.own.cpuSeconds + nodeDelta.cpuSeconds * share;
      q.waitSeconds += u.own.waitSeconds + nodeDelta.waitSeconds * share;
    }
    return out;
  }
}
