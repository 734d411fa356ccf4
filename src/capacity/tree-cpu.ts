/**
 * CPU used by a process and its descendants (this service and its browsers, or one unit's
 * browser), from /proc/<pid>/stat, and how long their main threads waited, runnable, for a CPU
 * (/proc/<pid>/schedstat: the share of demand the machine could not serve). Processes come and go
 * (a recycled browser, a new renderer), so the totals accumulate each process's growth since it was
 * last seen instead of summing counters that vanish with a process.
 */
import { processTree, readPidStat, readSchedstat, USER_HZ } from '../workers/process-tree.js';

/** Cumulative seconds since the tracker was made (plus what its processes had then). */
export interface TreeCpuReading {
  /** CPU time (utime + stime of every process of the tree). */
  readonly cpuSeconds: number;
  /** Run-queue delay of the processes' main threads; 0 where the kernel has no schedstat. */
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
  readonly waitNs: number;
}

export class TreeCpu {
  readonly #root: string;
  readonly #pid: number;
  readonly #tree: (pid: number, parents?: ReadonlyMap<number, number>) => number[];
  #seen = new Map<number, Seen>();
  #ticks = 0;
  #waitNs = 0;

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
    for (const pid of this.#tree(this.#pid, parents)) {
      const stat = readPidStat(pid, this.#root);
      if (!stat) continue; // gone meanwhile
      const waitNs = readSchedstat(pid, this.#root)?.waitNs ?? 0;
      const before = this.#seen.get(pid);
      // A new process (or a reused pid) counts from zero: its whole time was spent since we last looked.
      const same = before !== undefined && before.startTime === stat.startTime;
      this.#ticks += Math.max(0, stat.ticks - (same ? before.ticks : 0));
      this.#waitNs += Math.max(0, waitNs - (same ? before.waitNs : 0));
      alive.set(pid, { ticks: stat.ticks, startTime: stat.startTime, waitNs });
    }
    this.#seen = alive;
    return { cpuSeconds: this.#ticks / USER_HZ, waitSeconds: this.#waitNs / 1e9 };
  }
}
