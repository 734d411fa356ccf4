import fs from 'node:fs';
import { parsePidStat, processTree, USER_HZ } from '../../src/workers/process-tree.js';

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

/** A Chromium process's role: its `--type=` (renderer, gpu-process, utility, zygote) or `browser`. */
function chromiumRole(pid: number): string {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /--type=([\w-]+)/.exec(cmdline)?.[1] ?? 'browser';
  } catch {
    return 'unknown';
  }
}

/**
 * CPU-seconds of this process tree split by kind, by sampling (call `sample()` every second or
 * so): a process's ticks are kept at their last seen value, so processes that exit between
 * samples lose at most one interval. `labels` names processes by pid (e.g. a portal child process).
 */
export class CpuSplit {
  readonly #last = new Map<string, { kind: string; detail: string; ticks: number }>();
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
      const kind = known?.kind ?? kindOf(pid, this.#labels);
      const detail = known?.detail ?? (kind === 'chromium' ? `chromium ${chromiumRole(pid)}` : kind);
      this.#last.set(key, { kind, detail, ticks: stat.ticks });
    }
  }

  /** Seconds per kind since construction. */
  seconds(): Record<string, number> {
    return this.#sum((v) => v.kind);
  }

  /** Seconds per kind, Chromium split by process role (`chromium renderer`, `chromium browser`, ...). */
  secondsByRole(): Record<string, number> {
    return this.#sum((v) => v.detail);
  }

  #sum(key: (v: { kind: string; detail: string }) => string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, v] of this.#last)
      out[key(v)] = (out[key(v)] ?? 0) + (v.ticks - (this.#base.get(id) ?? 0)) / USER_HZ;
    return out;
  }
}
