/**
 * Where this process's cgroup lives, for cgroup v2 (unified), v1 (per-controller hierarchies, also
 * the "hybrid" layout) or none. Every path starts at `root` (`/` in production, a fixture folder in
 * tests), so the parsing is tested without the machine's own cgroups.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CgroupDirs {
  /** 2: unified hierarchy mounted at /sys/fs/cgroup; 1: per-controller hierarchies; 0: no cgroups. */
  readonly version: 0 | 1 | 2;
  /** v2: the unified folder; v1: the `cpu` controller's folder. */
  readonly cpu?: string;
  /** v1 only: the `cpuacct` controller's folder (often the same as `cpu`). */
  readonly cpuacct?: string;
  /** v2: the unified folder; v1: the `memory` controller's folder. */
  readonly memory?: string;
}

export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `controller → path` from /proc/self/cgroup (`0::/x` is the unified one, key ''). */
function membership(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (readText(path.join(root, 'proc/self/cgroup')) ?? '').split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers = '', where = '/'] = match;
    if (controllers === '') out.set('', where);
    for (const c of controllers.split(',')) if (c) out.set(c, where);
  }
  return out;
}

/**
 * The process's folder under `mount`; the mount itself when that folder is not visible (a
 * container with its own cgroup namespace sees its cgroup as the mount's root).
 */
function under(mount: string, where: string | undefined): string | undefined {
  if (!fs.existsSync(mount)) return undefined;
  const own = where ? path.join(mount, where) : mount;
  return fs.existsSync(own) ? own : mount;
}

/** Finds the cgroup folders this process is accounted in. */
export function findCgroupDirs(root = '/'): CgroupDirs {
  const base = path.join(root, 'sys/fs/cgroup');
  const member = membership(root);
  if (fs.existsSync(path.join(base, 'cgroup.controllers'))) {
    const dir = under(base, member.get(''));
    return { version: 2, cpu: dir, memory: dir };
  }
  const v1 = (controller: string, names: readonly string[]): string | undefined => {
    for (const name of names) {
      const dir = under(path.join(base, name), member.get(controller));
      if (dir) return dir;
    }
    return undefined;
  };
  const cpu = v1('cpu', ['cpu,cpuacct', 'cpu']);
  const cpuacct = v1('cpuacct', ['cpu,cpuacct', 'cpuacct']);
  const memory = v1('memory', ['memory']);
  if (!cpu && !cpuacct && !memory) return { version: 0 };
  return { version: 1, cpu, cpuacct, memory };
}
