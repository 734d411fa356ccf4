import { describe, expect, it } from 'vitest';
import { launchOptionsFor, requiredChromiumArgs, resolveExecutablePath } from '../../../src/workers/browser-launch.js';
import { completedJobAgeSeconds, jobOptionsFor, remembersCompletedIds } from '../../../src/workers/job-options.js';
import { canTransition, UNIT_TRANSITIONS } from '../../../src/workers/unit-state.js';
import { processTree } from '../../../src/workers/process-tree.js';

describe('resolveExecutablePath', () => {
  it('prefers the configured path, then chromium-headless-shell, then chromium, then Playwright', () => {
    expect(resolveExecutablePath('/opt/chrome', () => false)).toBe('/opt/chrome');
    expect(resolveExecutablePath('', () => true)).toBe('/usr/bin/chromium-headless-shell');
    expect(resolveExecutablePath('', (f) => f === '/usr/bin/chromium')).toBe('/usr/bin/chromium');
    expect(resolveExecutablePath('', () => false)).toBeUndefined();
  });
});

describe('launchOptionsFor', () => {
  it('adds the required flags and the configured ones, without duplicates', () => {
    const options = launchOptionsFor({
      executablePath: '/opt/chrome',
      headless: true,
      args: ['--disable-gpu', '--lang=pt-BR'],
      launchTimeoutMs: 12_000,
      recycleAfterJobs: 0,
      maxMemoryMb: 0,
      collectGarbageEveryJobs: 0,
      memoryCheckEveryJobs: 1,
    });
    expect(options.executablePath).toBe('/opt/chrome');
    expect(options.timeout).toBe(12_000);
    expect(options.args).toEqual([...requiredChromiumArgs(), '--lang=pt-BR']);
    expect(requiredChromiumArgs(true)).toContain('--no-sandbox');
    expect(requiredChromiumArgs(false)).not.toContain('--no-sandbox');
  });
});

describe('jobOptionsFor', () => {
  const retention = { keepCompletedSeconds: 600, keepCompletedJobSeconds: 60, keepFailedSeconds: 120 };
  it('sets attempts, the normal priority, exponential backoff and retention', () => {
    expect(jobOptionsFor({ attempts: 3, backoffMs: 500 }, retention)).toEqual({
      attempts: 3,
      priority: 2,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { age: 60 },
      removeOnFail: { age: 120 },
    });
    expect(jobOptionsFor({ attempts: 1, backoffMs: 0 }, retention)).not.toHaveProperty('backoff');
  });

  it('keeps a whole completed job at most for the duplicate window', () => {
    const longer = { ...retention, keepCompletedJobSeconds: 3600 };
    expect(jobOptionsFor({ attempts: 1, backoffMs: 0 }, longer).removeOnComplete).toEqual({ age: 600 });
    expect(completedJobAgeSeconds(longer)).toBe(600);
    expect(remembersCompletedIds(longer)).toBe(false);
    expect(remembersCompletedIds(retention)).toBe(true);
    expect(remembersCompletedIds({ ...retention, keepCompletedSeconds: 0 })).toBe(false);
  });
});

describe('unit states', () => {
  it('only moves forward to draining and closed', () => {
    expect(Object.keys(UNIT_TRANSITIONS)).toEqual(['starting', 'ready', 'busy', 'draining', 'closed']);
    expect(canTransition('ready', 'busy')).toBe(true);
    expect(canTransition('busy', 'ready')).toBe(true);
    expect(canTransition('draining', 'ready')).toBe(false);
    expect(canTransition('closed', 'starting')).toBe(false);
  });
});

describe('processTree', () => {
  it('is the root and all its descendants, however deep, and nothing else', () => {
    // pid → parent: 10 wrapper, 11 browser, 12/13 zygotes, 14 renderer (child of a zygote), 20 another tree.
    const parents = new Map([
      [1, 0],
      [10, 1],
      [11, 10],
      [12, 11],
      [13, 11],
      [14, 13],
      [15, 11],
      [20, 1],
      [21, 20],
    ]);
    expect(processTree(11, parents).sort((a, b) => a - b)).toEqual([11, 12, 13, 14, 15]);
    expect(processTree(11, parents)[0]).toBe(11);
    expect(processTree(20, parents).sort((a, b) => a - b)).toEqual([20, 21]);
    expect(processTree(99, parents)).toEqual([]);
  });
});
