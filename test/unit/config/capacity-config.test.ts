import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-cap-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function load(data: unknown) {
  fs.writeFileSync(path.join(dir, 'test.json'), JSON.stringify(data));
  return loadConfig({ env: { NODE_ENV: 'test' }, configDir: dir });
}

describe('capacity.* and the learned divisor in the config', () => {
  it('defaults: capacity on, the fixed divisor 50, no queue learning', () => {
    const c = load({});
    expect(c.capacity).toEqual({
      enabled: true,
      unitCpuHalfLifeSeconds: 30,
      unitCpuMinBusySeconds: 4,
      minUnits: 1,
      maxUnits: 0,
      maxLaunching: 0,
      maxCpuRatio: 0.95,
      minFreeCpuRatio: 0.1,
      maxMemoryRatio: 0.9,
      maxEventLoopDelayMs: 250,
      overloadedRatio: 0.4,
      shortWindowSeconds: 5,
      longWindowSeconds: 30,
      maxMemoryMb: 0,
      unitMemoryMb: 150,
      reserveMemoryMb: 512,
      minJobSamples: 20,
    });
    expect(c.queues[0]).toMatchObject({ jobsPerWorker: 50, autoDivisor: false, targetDrainSeconds: 600 });
  });

  it('jobsPerWorker "auto" per queue keeps the fixed divisor as the fallback, with its own T', () => {
    const c = load({ queues: { conferencia: { jobsPerWorker: 'auto', targetDrainSeconds: 300 } } });
    expect(c.queues.find((q) => q.name === 'conferencia')).toMatchObject({
      jobsPerWorker: 50,
      autoDivisor: true,
      targetDrainSeconds: 300,
    });
    expect(c.queues.find((q) => q.name === 'emissao')).toMatchObject({ autoDivisor: false });
  });

  it('a queue may set a rateLimit (jobs per duration); a malformed one names the key', () => {
    const c = load({ queues: { conferencia: { rateLimit: { max: 30, durationMs: 60_000 } } } });
    expect(c.queues.find((q) => q.name === 'conferencia')?.rateLimit).toEqual({ max: 30, durationMs: 60_000 });
    expect(c.queues.find((q) => q.name === 'emissao')?.rateLimit).toBeUndefined();
    expect(() => load({ queues: { conferencia: { rateLimit: { max: 0, durationMs: 1000 } } } })).toThrow(
      /'queues\.conferencia\.rateLimit'.*expected an object \{"max"/,
    );
    expect(() => load({ queues: { conferencia: { rateLimit: 30 } } })).toThrow(/queues\.conferencia\.rateLimit/);
  });

  it('rejects a wrong divisor and an out-of-range ratio with the key named', () => {
    expect(() => load({ queues: { conferencia: { jobsPerWorker: 'often' } } })).toThrow(
      /'queues\.conferencia\.jobsPerWorker'.*expected an integer >= 1 or "auto"/,
    );
    expect(() => load({ capacity: { maxCpuRatio: 1.5 } })).toThrow(/capacity\.maxCpuRatio/);
    expect(load({ capacity: { enabled: false, maxMemoryMb: 400 } }).capacity).toMatchObject({
      enabled: false,
      maxMemoryMb: 400,
    });
  });
});
