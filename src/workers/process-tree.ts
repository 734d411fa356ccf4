/**
 * Finds a browser's processes through /proc (Linux): Playwright does not expose the pid of a
 * launched browser, and Chromium runs as a tree (wrapper script, browser, zygotes, renderers).
 */
import fs from 'node:fs';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly rssKb: number;
  readonly cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return { pid, ppid, rssKb, cmdline };
  } catch {
    return undefined; // gone meanwhile, or not readable
  }
}

/** Every process visible in /proc (empty where /proc does not exist). */
export function listProcesses(): ProcessInfo[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcessInfo[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcess(Number(name));
    if (info && info.cmdline) out.push(info);
  }
  return out;
}

/** True when process `pid` has `name=value` in its environment (any value of `name` when `value` is omitted). */
export function hasEnv(pid: number, name: string, value?: string): boolean {
  try {
    const vars = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return value === undefined ? vars.some((v) => v.startsWith(`${name}=`)) : vars.includes(`${name}=${value}`);
  } catch {
    return false;
  }
}

/** Processes carrying `name=value` in their environment, excluding this Node process. */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  return listProcesses().filter((p) => p.pid !== process.pid && hasEnv(p.pid, name, value));
}

/** Proportional set size (shared pages split between sharers) in kB; RSS where smaps_rollup is missing. */
function pssKb(info: ProcessInfo): number {
  try {
    const rollup = fs.readFileSync(`/proc/${info.pid}/smaps_rollup`, 'utf8');
    const pss = /^Pss:\s+(\d+)/m.exec(rollup)?.[1];
    return pss === undefined ? info.rssKb : Number(pss);
  } catch {
    return info.rssKb;
  }
}

/**
 * Memory (MB) of the processes carrying `name=value` in their environment: summed PSS, so the
 * pages Chromium's processes share are counted once.
 */
export function memoryMbWithEnv(name: string, value: string): number {
  const kb = processesWithEnv(name, value).reduce((sum, p) => sum + pssKb(p), 0);
  return Math.round(kb / 1024);
}
