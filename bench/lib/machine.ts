import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { resolveExecutablePath } from '../../src/workers/browser-launch.js';

/** What the figures were measured on. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly loadAverage: readonly number[];
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly chromium: string;
  readonly bullmq: string;
  readonly playwright: string;
  readonly ioredis: string;
}

function packageVersion(name: string): string {
  try {
    const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

function commandVersion(file: string | undefined, args: string[], pattern: RegExp): string {
  if (!file) return 'not found';
  try {
    const out = execFileSync(file, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(out)?.[1] ?? out.trim();
  } catch (err) {
    return `unknown (${(err as Error).message.split('\n')[0] ?? ''})`;
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? '?',
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: commandVersion('redis-server', ['--version'], /v=(\S+)/),
    chromium: commandVersion(
      resolveExecutablePath(process.env.BROWSER_EXECUTABLE_PATH ?? ''),
      ['--version'],
      /([\d.]+\d)/,
    ),
    bullmq: packageVersion('bullmq'),
    playwright: packageVersion('playwright'),
    ioredis: packageVersion('ioredis'),
  };
}

export function formatMachine(m: MachineInfo): string {
  return (
    `machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB, load ${m.loadAverage.join(' ')} at start, ${m.os}\n` +
    `versions: node ${m.node}, redis-server ${m.redis}, chromium ${m.chromium}, bullmq ${m.bullmq}, ` +
    `playwright ${m.playwright}, ioredis ${m.ioredis}`
  );
}
