import fs from 'node:fs';
import { parsePidStat } from '../../src/capacity/own-cpu.js';
import { processTree } from '../../src/workers/process-tree.js';

const USER_HZ = 100;

/** Which part of this process tree a process is: this Node process, a Chromium, Redis, a labelled pid, other. */
function kindOf(pid: number, labels: ReadonlyMap<number, string>): string {
  const label = labels.get(pid);
  if (label !== undefined) return label;
  if (pid === process.pid) return 'node';
  let comm: string;
  try {
    comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'other';
  }
  if (/chrom|headless/i.test(comm)) return 'chromium';
  if (/redis/i.test(comm)) return 'redis';
  return 'other';
}

/**
 * CPU-seconds of this process tree split by kind, by sampling (call `sample()` every second or
 * so): a process's ticks are kept at their last seen value, so processes that exit between
 * samples lose at most one interval. `labels` names processes by pid (e.g. a portal child process).
 */
export class CpuSplit {
  readonly #last = new Map<string, { kind: string; ticks: number }>();
  readonly #base = new Map<string, number>();
  readonly #labels: ReadonlyMap<number, string>;

  constructor(labels: ReadonlyMap<number, string> = new Map()) {
    this.#labels = labels;
    this.sample();
    for (const [key, v] of this.#last) this.#base.set(key, v.ticks);
  }

  sample(): void {
    for (const pid of processTree(process.pid)) {
      let text: string;
      try {
        text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const stat = parsePidStat(text);
      if (!stat) continue;
      const key = `${pid}:${stat.startTime}`;
      const known = this.#last.get(key);
      this.#last.set(key, { kind: known?.kind ?? kindOf(pid, this.#labels), ticks: stat.ticks });
    }
  }

  /** Seconds per kind since construction. */
  seconds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, v] of this.#last)
      out[v.kind] = (out[v.kind] ?? 0) + (v.ticks - (this.#base.get(key) ?? 0)) / USER_HZ;
    return out;
  }
}
