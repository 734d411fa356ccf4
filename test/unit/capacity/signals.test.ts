import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCgroupDirs } from '../../../src/capacity/cgroup.js';
import { cpuRatio, CpuSignal, parseCfsQuota, parseCpuMax, parseProcStat } from '../../../src/capacity/cpu-signal.js';
import { MemorySignal, parseMeminfo } from '../../../src/capacity/memory-signal.js';
import { TreeCpu } from '../../../src/capacity/tree-cpu.js';
import { parsePidStat } from '../../../src/workers/process-tree.js';

const roots: string[] = [];

/** A fixture filesystem root: `files` maps relative paths to contents. */
function fixture(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cgroup-'));
  roots.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

const PROC_STAT_1 = 'cpu  1000 0 500 8000 100 0 0 0 0 0\ncpu0 500 0 250 4000 50 0 0 0 0 0\n';
const PROC_STAT_2 = 'cpu  1150 0 550 8200 100 0 0 0 0 0\ncpu0 575 0 275 4100 50 0 0 0 0 0\n';
const MEMINFO = 'MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    8192000 kB\n';

describe('parsers', () => {
  it('reads cgroup v2 cpu.max and v1 CFS quota as cores, "max" and -1 as no limit', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(1.5);
    expect(parseCpuMax('max 100000')).toBeUndefined();
    expect(parseCfsQuota('400000\n', '100000\n')).toBe(4);
    expect(parseCfsQuota('-1\n', '100000\n')).toBeUndefined();
  });

  it('reads /proc/stat busy and total time (iowait is idle)', () => {
    expect(parseProcStat(PROC_STAT_1)).toEqual({ busySeconds: 15, totalSeconds: 96 });
  });

  it('reads MemTotal and MemAvailable', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({ totalMb: 16000, availableMb: 8000 });
  });

  it('reads the parent, utime + stime and the start time of a /proc/<pid>/stat line whose name holds spaces and parens', () => {
    const line = '42 (my (odd) name) S 7 42 42 0 -1 4194304 100 0 0 0 70 30 0 0 20 0 1 0 12345 1000 10';
    expect(parsePidStat(line)).toEqual({ ppid: 7, ticks: 100, startTime: 12345 });
    expect(parsePidStat('garbage')).toBeUndefined();
  });
});

describe('CpuSignal', () => {
  it('cgroup v2 with a quota: container usage over quota × wall time', () => {
    const root = fixture({
      'proc/self/cgroup': '0::/\n',
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'sys/fs/cgroup/cpu.max': '200000 100000\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 5000000\nuser_usec 4000000\n',
    });
    let t = 100;
    const signal = new CpuSignal({ root, processors: 16, monotonicSeconds: () => t });
    const a = signal.read();
    expect(a).toMatchObject({ cores: 2, source: 'cgroup2' });
    fs.writeFileSync(path.join(root, 'sys/fs/cgroup/cpu.stat'), 'usage_usec 6500000\n');
    t = 101;
    const b = signal.read();
    // 1.5 CPU-seconds in 1 s over 2 cores.
    expect(cpuRatio(a!, b!)).toBeCloseTo(0.75);
  });

  it('cgroup v2 in a nested cgroup reads the process’s own folder', () => {
    const root = fixture({
      'proc/self/cgroup': '0::/app.slice/svc\n',
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'sys/fs/cgroup/cpu.max': 'max 100000\n',
      'sys/fs/cgroup/app.slice/svc/cpu.max': '100000 100000\n',
      'sys/fs/cgroup/app.slice/svc/cpu.stat': 'usage_usec 1\n',
    });
    expect(findCgroupDirs(root).cpu).toBe(path.join(root, 'sys/fs/cgroup/app.slice/svc'));
    expect(new CpuSignal({ root, processors: 8 }).read()).toMatchObject({ cores: 1, source: 'cgroup2' });
  });

  it('cgroup v2 without a limit: the whole machine from /proc/stat', () => {
    const root = fixture({
      'proc/self/cgroup': '0::/\n',
      'sys/fs/cgroup/cgroup.controllers': 'cpu\n',
      'sys/fs/cgroup/cpu.max': 'max 100000\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 5\n',
      'proc/stat': PROC_STAT_1,
    });
    const signal = new CpuSignal({ root, processors: 2 });
    const a = signal.read();
    expect(a).toMatchObject({ cores: 2, source: 'proc' });
    fs.writeFileSync(path.join(root, 'proc/stat'), PROC_STAT_2);
    // busy +2 s of total +4 s.
    expect(cpuRatio(a!, signal.read()!)).toBeCloseTo(0.5);
  });

  it('cgroup v1 (hybrid layout) with a CFS quota: cpuacct.usage over quota × wall time', () => {
    const root = fixture({
      'proc/self/cgroup': '4:memory:/\n3:cpu,cpuacct:/\n0::/\n',
      'sys/fs/cgroup/unified/cgroup.controllers': '',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '300000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpuacct.usage': '2000000000\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
    });
    let t = 10;
    const signal = new CpuSignal({ root, processors: 8, monotonicSeconds: () => t });
    const a = signal.read();
    expect(a).toMatchObject({ cores: 3, source: 'cgroup1' });
    fs.writeFileSync(path.join(root, 'sys/fs/cgroup/cpu,cpuacct/cpuacct.usage'), '5000000000\n');
    t = 12;
    expect(cpuRatio(a!, signal.read()!)).toBeCloseTo(0.5); // 3 s over 3 cores × 2 s
  });

  it('cgroup v1 without a quota (-1), and no cgroups at all: /proc/stat', () => {
    const v1 = fixture({
      'proc/self/cgroup': '3:cpu,cpuacct:/\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpuacct.usage': '1\n',
      'proc/stat': PROC_STAT_1,
    });
    expect(new CpuSignal({ root: v1, processors: 2 }).read()).toMatchObject({ source: 'proc', cores: 2 });
    const none = fixture({ 'proc/stat': PROC_STAT_1 });
    expect(findCgroupDirs(none).version).toBe(0);
    expect(new CpuSignal({ root: none, processors: 4 }).read()).toMatchObject({ source: 'proc', cores: 4 });
  });

  it('a ratio never leaves 0..1 and is 0 when no time passed', () => {
    const r = { busySeconds: 1, capacitySeconds: 1, cores: 1, source: 'proc' as const };
    expect(cpuRatio(r, r)).toBe(0);
    expect(cpuRatio(r, { ...r, busySeconds: 9, capacitySeconds: 2 })).toBe(1);
  });
});

describe('MemorySignal', () => {
  it('cgroup v2: memory.max and memory.current less inactive file cache', () => {
    const root = fixture({
      'proc/self/cgroup': '0::/\n',
      'proc/meminfo': MEMINFO,
      'sys/fs/cgroup/cgroup.controllers': 'memory\n',
      'sys/fs/cgroup/memory.max': String(2048 * 1024 * 1024),
      'sys/fs/cgroup/memory.current': String(1024 * 1024 * 1024),
      'sys/fs/cgroup/memory.stat': `anon 1\ninactive_file ${256 * 1024 * 1024}\n`,
    });
    expect(new MemorySignal({ root }).read()).toEqual({ limitMb: 2048, usedMb: 768, source: 'cgroup2' });
  });

  it('cgroup v1: memory.limit_in_bytes and usage_in_bytes less total_inactive_file', () => {
    const root = fixture({
      'proc/self/cgroup': '4:memory:/\n',
      'proc/meminfo': MEMINFO,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': String(1024 * 1024 * 1024),
      'sys/fs/cgroup/memory/memory.usage_in_bytes': String(600 * 1024 * 1024),
      'sys/fs/cgroup/memory/memory.stat': `cache 5\ntotal_inactive_file ${100 * 1024 * 1024}\n`,
    });
    expect(new MemorySignal({ root }).read()).toEqual({ limitMb: 1024, usedMb: 500, source: 'cgroup1' });
  });

  it('no limit (v2 "max", v1 huge number) or no cgroup: MemTotal − MemAvailable', () => {
    const v2 = fixture({
      'proc/self/cgroup': '0::/\n',
      'proc/meminfo': MEMINFO,
      'sys/fs/cgroup/cgroup.controllers': 'memory\n',
      'sys/fs/cgroup/memory.max': 'max\n',
      'sys/fs/cgroup/memory.current': '123\n',
    });
    const v1 = fixture({
      'proc/self/cgroup': '4:memory:/\n',
      'proc/meminfo': MEMINFO,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/memory.usage_in_bytes': '123\n',
    });
    const none = fixture({ 'proc/meminfo': MEMINFO });
    for (const root of [v2, v1, none])
      expect(new MemorySignal({ root }).read()).toEqual({ limitMb: 16000, usedMb: 8000, source: 'proc' });
  });
});

describe('TreeCpu', () => {
  const stat = (ticks: number, start: number): string =>
    `1 (x) S 0 1 1 0 -1 0 0 0 0 0 ${ticks} 0 0 0 20 0 1 0 ${start} 0 0`;

  it('adds each process’s growth; a process that exits keeps what it added; a reused pid counts from zero', () => {
    const root = fixture({ 'proc/10/stat': stat(100, 1), 'proc/11/stat': stat(50, 2) });
    const tree = [10, 11];
    const own = new TreeCpu({ root, pid: 10, tree: () => tree });
    expect(own.read().cpuSeconds).toBeCloseTo(1.5);
    fs.writeFileSync(path.join(root, 'proc/10/stat'), stat(130, 1));
    fs.rmSync(path.join(root, 'proc/11'), { recursive: true });
    expect(own.read().cpuSeconds).toBeCloseTo(1.8);
    fs.mkdirSync(path.join(root, 'proc/11'));
    fs.writeFileSync(path.join(root, 'proc/11/stat'), stat(20, 99));
    expect(own.read().cpuSeconds).toBeCloseTo(2.0);
  });

  it('estimates the run-queue wait of each process from its main thread’s stretch (schedstat) times its CPU', () => {
    const root = fixture({
      'proc/10/stat': stat(100, 1),
      'proc/10/schedstat': '1000000000 250000000 40\n', // ran 1 s, waited 0.25 s: stretched by 0.25
      'proc/11/stat': stat(50, 2), // no schedstat: the tree's stretch
    });
    const tree = new TreeCpu({ root, pid: 10, tree: () => [10, 11] });
    expect(tree.read()).toEqual({ cpuSeconds: 1.5, waitSeconds: 1.5 * 0.25 });
    // Then the machine fills: 10's main thread runs 0.5 s and waits 1 s (stretch 2) while 10 uses 0.6 s.
    fs.writeFileSync(path.join(root, 'proc/10/stat'), stat(160, 1));
    fs.writeFileSync(path.join(root, 'proc/10/schedstat'), '1500000000 1250000000 80\n');
    const next = tree.read();
    expect(next.cpuSeconds).toBeCloseTo(2.1);
    expect(next.waitSeconds).toBeCloseTo(0.375 + 0.6 * 2);
  });
});
