/**
 * CPU used by a process and its descendants (this service and its browsers, or one unit's
 * browser), from /proc/<pid>/stat, and how long they waited, runnable, for a CPU: the demand the
 * machine could not serve. /proc/<pid>/schedstat gives the run and wait time of a process's main
 * thread only; its ratio (how much the process was stretched) applied to the whole process's CPU
 * estimates the wait of all its threads. Processes come and go (a recycled browser, a new
 * renderer), so the totals accumulate each process's growth since it was last seen instead of
 * summing counters that vanish with a process.
 */
import { processTree, readPidStat, readSchedstat, USER_HZ } from '../workers/process-tree.js';

/** Cumulative seconds since the tracker was made (plus what its processes had then). */
export interface TreeCpuReading {
  /** CPU time (utime + stime of every process of the tree). */
  readonly cpuSeconds: number;
  /** Run-queue delay of the processes (their main threads' stretch × their CPU); 0 without schedstat. */
  readonly waitSeconds: number;
}

export interface TreeCpuOptions {
  /** Filesystem root (a fixture folder in tests). @defaultValue '/' */
  readonly root?: string;
  /** The tree's root process. @defaultValue process.pid */
  readonly pid?: number;
  /** The tree's pids, root first. @defaultValue {@link processTree} on /proc */
  readonly tree?: (pid: number, parents?: ReadonlyMap<number, number>) => number[];
}

interface Seen {
  readonly ticks: number;
  readonly startTime: number;
  /** The main thread's run and wait (schedstat), ns. */
  readonly runNs: number;
  readonly waitNs: number;
}

export class TreeCpu {
  readonly #root: string;
  readonly #pid: number;
  readonly #tree: (pid: number, parents?: ReadonlyMap<number, number>) => number[];
  #seen = new Map<number, Seen>();
  #ticks = 0;
  #waitSeconds = 0;

  constructor(options: TreeCpuOptions = {}) {
    this.#root = options.root ?? '/';
    this.#pid = options.pid ?? process.pid;
    this.#tree = options.tree ?? ((pid, parents) => processTree(pid, parents));
  }

  /** The tree's root pid. */
  get pid(): number {
    return this.#pid;
  }

  /** Reads the tree now; `parents` (pid → parent pid) shares one read of /proc among several trackers. */
  read(parents?: ReadonlyMap<number, number>): TreeCpuReading {
    const alive = new Map<number, Seen>();
    const grown: { ticks: number; runNs: number; waitNs: number }[] = [];
    for (const pid of this.#tree(this.#pid, parents)) {
      const stat = readPidStat(pid, this.#root);
      if (!stat) continue; // gone meanwhile
      const sched = readSchedstat(pid, this.#root);
      const before = this.#seen.get(pid);
      // A new process (or a reused pid) counts from zero: its whole time was spent since we last looked.
      const same = before !== undefined && before.startTime === stat.startTime;
      const now: Seen = {
        ticks: stat.ticks,
        startTime: stat.startTime,
        runNs: sched?.runNs ?? 0,
        waitNs: sched?.waitNs ?? 0,
      };
      grown.push({
        ticks: Math.max(0, now.ticks - (same ? before.ticks : 0)),
        runNs: Math.max(0, now.runNs - (same ? before.runNs : 0)),
        waitNs: Math.max(0, now.waitNs - (same ? before.waitNs : 0)),
      });
      alive.set(pid, now);
    }
    this.#seen = alive;
    // A process whose main thread did not run since: the tree's own stretch.
    const run = grown.reduce((sum, g) => sum + g.runNs, 0);
    const treeStretch = run > 0 ? grown.reduce((sum, g) => sum + g.waitNs, 0) / run : 0;
    for (const g of grown) {
      this.#ticks += g.ticks;
      const stretch = g.runNs > 0 ? g.waitNs / g.runNs : treeStretch;
      this.#waitSeconds += (g.ticks / USER_HZ) * stretch;
    }
    return { cpuSeconds: this.#ticks / USER_HZ, waitSeconds: this.#waitSeconds };
  }
}
