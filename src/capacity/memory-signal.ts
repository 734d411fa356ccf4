/**
 * Memory as this instance sees it: the cgroup's limit and usage (v2 `memory.max`/`memory.current`,
 * v1 `memory.limit_in_bytes`/`memory.usage_in_bytes`, page cache that can be dropped not counted),
 * else the machine's MemTotal/MemAvailable.
 */
import path from 'node:path';
import { findCgroupDirs, readText, type CgroupDirs } from './cgroup.js';

export interface MemoryReading {
  readonly limitMb: number;
  readonly usedMb: number;
  readonly source: 'cgroup2' | 'cgroup1' | 'proc';
}

const MB = 1024 * 1024;

/** MemTotal and MemAvailable (MB) from /proc/meminfo. */
export function parseMeminfo(text: string | undefined): { totalMb: number; availableMb: number } | undefined {
  const kb = (key: string): number | undefined => {
    const hit = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text ?? '')?.[1];
    return hit === undefined ? undefined : Number(hit);
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable') ?? kb('MemFree');
  if (total === undefined || available === undefined) return undefined;
  return { totalMb: total / 1024, availableMb: available / 1024 };
}

function statValue(text: string | undefined, key: string): number {
  const hit = new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(text ?? '')?.[1];
  return hit === undefined ? 0 : Number(hit);
}

export class MemorySignal {
  readonly #root: string;
  readonly #dirs: CgroupDirs;

  constructor(options: { root?: string } = {}) {
    this.#root = options.root ?? '/';
    this.#dirs = findCgroupDirs(this.#root);
  }

  read(): MemoryReading | undefined {
    const machine = parseMeminfo(readText(path.join(this.#root, 'proc/meminfo')));
    const limited = this.#cgroup(machine?.totalMb);
    if (limited) return limited;
    if (!machine) return undefined;
    return { limitMb: machine.totalMb, usedMb: machine.totalMb - machine.availableMb, source: 'proc' };
  }

  /** A cgroup reading only when the cgroup's limit is below the machine's memory. */
  #cgroup(machineMb: number | undefined): MemoryReading | undefined {
    const dir = this.#dirs.memory;
    if (!dir) return undefined;
    const v2 = this.#dirs.version === 2;
    const limitText = readText(path.join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'))?.trim();
    const usageText = readText(path.join(dir, v2 ? 'memory.current' : 'memory.usage_in_bytes'))?.trim();
    if (!limitText || !usageText || !/^\d+$/.test(limitText) || !/^\d+$/.test(usageText)) return undefined;
    const limitMb = Number(limitText) / MB;
    // v1 writes a huge number (PAGE_COUNTER_MAX) for "no limit".
    if (machineMb !== undefined && limitMb >= machineMb) return undefined;
    const stat = readText(path.join(dir, 'memory.stat'));
    const inactiveFile = v2 ? statValue(stat, 'inactive_file') : statValue(stat, 'total_inactive_file');
    const usedMb = Math.max(0, Number(usageText) - inactiveFile) / MB;
    return { limitMb, usedMb, source: v2 ? 'cgroup2' : 'cgroup1' };
  }
}
