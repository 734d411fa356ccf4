/** Finding processes from the outside in tests (/proc, Linux). */
import fs from 'node:fs';
import { listProcesses, type ProcessInfo } from '../../src/workers/process-tree.js';

/** True when process `pid` has `name=value` in its environment (any value of `name` when `value` is omitted). */
export function hasEnv(pid: number, name: string, value?: string): boolean {
  try {
    const vars = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return value === undefined ? vars.some((v) => v.startsWith(`${name}=`)) : vars.includes(`${name}=${value}`);
  } catch {
    return false;
  }
}

/**
 * Processes carrying `name=value` in their environment, excluding this Node process. Chromium
 * clears the environment of its zygotes, so among a browser's processes only the browser itself
 * (and a /bin/sh wrapper) carry it.
 */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  return listProcesses().filter((p) => p.pid !== process.pid && hasEnv(p.pid, name, value));
}

/** A Chromium process of any type, or the /bin/sh wrapper some distributions start it with. */
export function isChromium(cmdline: string): boolean {
  return /chrom/i.test(cmdline);
}
