/**
 * CPU seconds used by this process and its descendants (the browsers and their renderers), from
 * /proc/<pid>/stat. Processes come and go (a recycled browser), so the total accumulates each
 * process's growth since it was last seen instead of summing counters that vanish with a process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { processTree } from '../workers/process-tree.js';

const USER_HZ = 100;

/** utime + stime (fields 14 and 15) and start time (field 22) of one /proc/<pid>/stat text. */
export function parsePidStat(text: string): { ticks: number; startTime: number } | undefined {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const start = Number(rest[19]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ticks: utime + stime, startTime: start };
}

export class OwnCpu {
  readonly #root: string;
  readonly #pid: number;
  readonly #tree: (pid: number) => number[];
  readonly #seen = new Map<number, { ticks: number; startTime: number }>();
  #totalTicks = 0;

  constructor(options: { root?: string; pid?: number; tree?: (pid: number) => number[] } = {}) {
    this.#root = options.root ?? '/';
    this.#pid = options.pid ?? process.pid;
    this.#tree = options.tree ?? ((pid) => processTree(pid));
  }

  /** Cumulative CPU seconds of the tree since this tracker was made (plus what its processes had then). */
  read(): number {
    const alive = new Map<number, { ticks: number; startTime: number }>();
    for (const pid of this.#tree(this.#pid)) {
      let text: string;
      try {
        text = fs.readFileSync(path.join(this.#root, 'proc', String(pid), 'stat'), 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      const stat = parsePidStat(text);
      if (!stat) continue;
      const before = this.#seen.get(pid);
      // A new process (or a reused pid) counts from zero: its whole time was spent since we last looked.
      const base = before && before.startTime === stat.startTime ? before.ticks : 0;
      this.#totalTicks += Math.max(0, stat.ticks - base);
      alive.set(pid, stat);
    }
    this.#seen.clear();
    for (const [pid, stat] of alive) this.#seen.set(pid, stat);
    return this.#totalTicks / USER_HZ;
  }
}
