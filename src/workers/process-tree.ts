/**
 * A process and its descendants through /proc (Linux), and their memory. Chromium runs as a tree
 * (browser, zygotes, renderers, GPU and utility processes) and clears the environment of its
 * zygotes, so the tree is found from the browser's pid by parent pid, never by environment.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly rssKb: number;
  readonly cmdline: string;
}

/** Memory of a process tree. */
export interface TreeMemory {
  /** Summed proportional set size (shared pages split between sharers); RSS where /proc has no PSS. */
  readonly pssMb: number;
  /** Summed resident set size (shared pages counted in every process: an overcount). */
  readonly rssMb: number;
  /** Processes measured (the root included). */
  readonly processes: number;
}

/** What /proc/<pid>/stat says of one process (the one parser of that file). */
export interface PidStat {
  readonly ppid: number;
  /** utime + stime (fields 14 and 15), in clock ticks (USER_HZ, 100 per second). */
  readonly ticks: number;
  /** When the process started (field 22, clock ticks after boot): with the pid, it names one process. */
  readonly startTime: number;
}

/** Clock ticks per second of /proc (USER_HZ); 100 on every Linux build that matters. */
export const USER_HZ = 100;

/** Parses one /proc/<pid>/stat text; the command name (field 2) may hold spaces and ')'. */
export function parsePidStat(text: string): PidStat | undefined {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const startTime = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ppid, ticks: utime + stime, startTime };
}

/** /proc/<pid>/stat of one process under `root` (a fixture folder in tests); undefined when gone. */
export function readPidStat(pid: number, root = '/'): PidStat | undefined {
  try {
    return parsePidStat(fs.readFileSync(path.join(root, 'proc', String(pid), 'stat'), 'utf8'));
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * /proc/<pid>/schedstat of the process's main thread: nanoseconds it ran and nanoseconds it waited,
 * runnable, for a CPU (the run-queue delay). Undefined when gone or where the kernel has no schedstat.
 */
export function readSchedstat(pid: number, root = '/'): { runNs: number; waitNs: number } | undefined {
  try {
    const [run, wait] = fs
      .readFileSync(path.join(root, 'proc', String(pid), 'schedstat'), 'utf8')
      .trim()
      .split(/\s+/);
    const runNs = Number(run);
    const waitNs = Number(wait);
    return Number.isFinite(runNs) && Number.isFinite(waitNs) ? { runNs, waitNs } : undefined;
  } catch {
    return undefined;
  }
}

function parentPid(pid: number): number | undefined {
  return readPidStat(pid)?.ppid;
}

/**
 * When the process started (clock ticks after boot, field 22 of /proc/<pid>/stat): with the pid,
 * it names one process even after the pid is reused. Undefined when gone or without /proc.
 */
export function processStartTime(pid: number): number | undefined {
  return readPidStat(pid)?.startTime;
}

function numericEntries(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return []; // no /proc: not Linux
  }
}

function rssKbOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Every process visible in /proc with a command line (empty where /proc does not exist). */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const pid of numericEntries()) {
    try {
      const ppid = parentPid(pid);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (ppid !== undefined && cmdline) out.push({ pid, ppid, rssKb: rssKbOf(pid), cmdline });
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return out;
}

/** pid → parent pid of every process in /proc, read once (pass it to several {@link processTree} calls). */
export function parentMap(): Map<number, number> {
  return new Map(numericEntries().map((pid) => [pid, parentPid(pid) ?? -1]));
}

/**
 * `root` and every process descending from it (by parent pid), root first; empty when `root` is
 * gone. `parents` (pid → parent pid) defaults to a fresh read of /proc.
 */
export function processTree(root: number, parents?: ReadonlyMap<number, number>): number[] {
  const links = parents ?? parentMap();
  if (!links.has(root)) return [];
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of links) {
    const siblings = children.get(ppid);
    if (siblings) siblings.push(pid);
    else children.set(ppid, [pid]);
  }
  const tree: number[] = [];
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** PSS and RSS (kB) of one process; PSS falls back to RSS where smaps_rollup is missing; undefined when gone. */
async function processMemoryKb(pid: number): Promise<{ pssKb: number; rssKb: number } | undefined> {
  let rssKb: number;
  try {
    rssKb = Number(/VmRSS:\s+(\d+)/.exec(await fsp.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return undefined; // gone
  }
  try {
    const pss = /^Pss:\s+(\d+)/m.exec(await fsp.readFile(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return { pssKb: pss === undefined ? rssKb : Number(pss), rssKb };
  } catch {
    return { pssKb: rssKb, rssKb };
  }
}

/**
 * Memory of `root` and all its descendants; zero processes when `root` is gone. Reading
 * smaps_rollup makes the kernel walk each process's page tables (milliseconds per process on a
 * loaded machine), so the reads are asynchronous and callers measure between jobs, not per request.
 */
export async function treeMemory(root: number): Promise<TreeMemory> {
  const measured = await Promise.all(processTree(root).map((pid) => processMemoryKb(pid)));
  let pssKb = 0;
  let rssKb = 0;
  let processes = 0;
  for (const m of measured) {
    if (!m) continue;
    pssKb += m.pssKb;
    rssKb += m.rssKb;
    processes += 1;
  }
  return { pssMb: Math.round(pssKb / 1024), rssMb: Math.round(rssKb / 1024), processes };
}

/**
 * SIGKILLs `root` and its descendants (a browser that would not close); returns how many were
 * signalled. With `startTime` ({@link processStartTime}) nothing is killed when `root` is now
 * another process (its pid reused).
 */
export function killTree(root: number, startTime?: number): number {
  if (startTime !== undefined && processStartTime(root) !== startTime) return 0;
  let killed = 0;
  for (const pid of processTree(root)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed += 1;
    } catch {
      // already gone
    }
  }
  return killed;
}
