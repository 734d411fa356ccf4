/**
 * CPU load of the machine as this instance sees it: the container's quota and usage when a cgroup
 * limits the CPU (v2 `cpu.max` + `cpu.stat`, v1 `cpu.cfs_quota_us` + `cpuacct.usage`), else the
 * whole machine from /proc/stat. Also the CPU time of this process and its children (the
 * browsers), so the load of *other* processes can be told apart from ours.
 */
import os from 'node:os';
import path from 'node:path';
import { findCgroupDirs, readText, type CgroupDirs } from './cgroup.js';

/** Cumulative counters; two readings give a ratio. */
export interface CpuReading {
  /** CPU seconds used (by the cgroup, or by the whole machine). */
  readonly busySeconds: number;
  /** CPU seconds available over the same span: cores × wall seconds (or /proc/stat's total). */
  readonly capacitySeconds: number;
  /** Cores this instance may use: the quota, else the processors it may run on. */
  readonly cores: number;
  readonly source: 'cgroup2' | 'cgroup1' | 'proc';
}

export interface CpuSignalOptions {
  /** Filesystem root (a fixture folder in tests). @defaultValue '/' */
  readonly root?: string;
  /** Processors this process may run on. @defaultValue os.availableParallelism() */
  readonly processors?: number;
  /** Monotonic seconds, for the cgroup counters (which have no total of their own). */
  readonly monotonicSeconds?: () => number;
}

/** Clock ticks per second of /proc/stat (USER_HZ); 100 on every Linux build that matters. */
const USER_HZ = 100;

/** Parses v2 `cpu.max` ("max 100000" or "200000 100000"): cores, or undefined when unlimited. */
export function parseCpuMax(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  if (!quota || quota === 'max' || !period) return undefined;
  const cores = Number(quota) / Number(period);
  return Number.isFinite(cores) && cores > 0 ? cores : undefined;
}

/** v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`: cores, or undefined when unlimited (-1). */
export function parseCfsQuota(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number((quota ?? '').trim());
  const p = Number((period ?? '').trim());
  if (!Number.isFinite(q) || q <= 0 || !Number.isFinite(p) || p <= 0) return undefined;
  return q / p;
}

/** Busy and total seconds from the first line of /proc/stat. */
export function parseProcStat(text: string | undefined): { busySeconds: number; totalSeconds: number } | undefined {
  const line = (text ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busySeconds: busy / USER_HZ, totalSeconds: (busy + idle + iowait) / USER_HZ };
}

/** Reads the CPU counters, preferring a limiting cgroup. */
export class CpuSignal {
  readonly #root: string;
  readonly #processors: number;
  readonly #now: () => number;
  readonly #dirs: CgroupDirs;

  constructor(options: CpuSignalOptions = {}) {
    this.#root = options.root ?? '/';
    this.#processors = options.processors ?? os.availableParallelism();
    this.#now = options.monotonicSeconds ?? (() => performance.now() / 1000);
    this.#dirs = findCgroupDirs(this.#root);
  }

  read(): CpuReading | undefined {
    const limited = this.#cgroup();
    if (limited) return limited;
    const stat = parseProcStat(readText(path.join(this.#root, 'proc/stat')));
    if (!stat) return undefined;
    return {
      busySeconds: stat.busySeconds,
      capacitySeconds: stat.totalSeconds,
      cores: this.#processors,
      source: 'proc',
    };
  }

  /** A cgroup reading only when the cgroup has a CPU limit: without one the machine is what counts. */
  #cgroup(): CpuReading | undefined {
    const dirs = this.#dirs;
    if (dirs.version === 2 && dirs.cpu) {
      const quota = parseCpuMax(readText(path.join(dirs.cpu, 'cpu.max')));
      const usage = /^usage_usec\s+(\d+)/m.exec(readText(path.join(dirs.cpu, 'cpu.stat')) ?? '')?.[1];
      if (quota === undefined || usage === undefined) return undefined;
      const cores = Math.min(quota, this.#processors);
      return { busySeconds: Number(usage) / 1e6, capacitySeconds: this.#now() * cores, cores, source: 'cgroup2' };
    }
    if (dirs.version === 1 && dirs.cpu && dirs.cpuacct) {
      const quota = parseCfsQuota(
        readText(path.join(dirs.cpu, 'cpu.cfs_quota_us')),
        readText(path.join(dirs.cpu, 'cpu.cfs_period_us')),
      );
      const usage = (readText(path.join(dirs.cpuacct, 'cpuacct.usage')) ?? '').trim();
      if (quota === undefined || !/^\d+$/.test(usage)) return undefined;
      const cores = Math.min(quota, this.#processors);
      return { busySeconds: Number(usage) / 1e9, capacitySeconds: this.#now() * cores, cores, source: 'cgroup1' };
    }
    return undefined;
  }
}

/** Share of the available CPU used between two readings (0..1; 0 when no time passed). */
export function cpuRatio(previous: CpuReading, next: CpuReading): number {
  const capacity = next.capacitySeconds - previous.capacitySeconds;
  if (capacity <= 0) return 0;
  return Math.max(0, Math.min(1, (next.busySeconds - previous.busySeconds) / capacity));
}
