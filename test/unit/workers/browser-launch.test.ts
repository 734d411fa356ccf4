import { describe, expect, it } from 'vitest';
import {
  launchOptionsFor,
  requiredChromiumArgs,
  resolveExecutablePath,
  BROWSER_MARKER_ENV,
} from '../../../src/workers/browser-launch.js';
import { jobOptionsFor } from '../../../src/workers/job-options.js';
import { canTransition, UNIT_STATES } from '../../../src/workers/unit-state.js';
import { findBrowserPid, type ProcessInfo } from '../../../src/workers/process-tree.js';

describe('resolveExecutablePath', () => {
  it('prefers the configured path, then chromium-headless-shell, then chromium, then Playwright', () => {
    expect(resolveExecutablePath('/opt/chrome', () => false)).toBe('/opt/chrome');
    expect(resolveExecutablePath('', () => true)).toBe('/usr/bin/chromium-headless-shell');
    expect(resolveExecutablePath('', (f) => f === '/usr/bin/chromium')).toBe('/usr/bin/chromium');
    expect(resolveExecutablePath('', () => false)).toBeUndefined();
  });
});

describe('launchOptionsFor', () => {
  it('adds the required flags, the configured ones and the marker, without duplicates', () => {
    const options = launchOptionsFor(
      {
        executablePath: '/opt/chrome',
        headless: true,
        args: ['--disable-gpu', '--lang=pt-BR'],
        launchTimeoutMs: 12_000,
        recycleAfterJobs: 0,
        maxMemoryMb: 0,
      },
      'm-1',
    );
    expect(options.executablePath).toBe('/opt/chrome');
    expect(options.timeout).toBe(12_000);
    expect(options.args).toEqual([...requiredChromiumArgs(), '--lang=pt-BR', '--rpa-pool-browser=m-1']);
    expect(options.env?.[BROWSER_MARKER_ENV]).toBe('m-1');
    expect(requiredChromiumArgs(true)).toContain('--no-sandbox');
    expect(requiredChromiumArgs(false)).not.toContain('--no-sandbox');
  });
});

describe('jobOptionsFor', () => {
  it('sets attempts, the normal priority, exponential backoff and retention', () => {
    expect(jobOptionsFor({ attempts: 3, backoffMs: 500 }, 60, 120)).toEqual({
      attempts: 3,
      priority: 2,
      backoff: { type: 'exponential', delay: 500 },
      removeOnComplete: { age: 60 },
      removeOnFail: { age: 120 },
    });
    expect(jobOptionsFor({ attempts: 1, backoffMs: 0 }, 1, 1)).not.toHaveProperty('backoff');
  });
});

describe('unit states', () => {
  it('only moves forward to draining and closed', () => {
    expect(UNIT_STATES).toEqual(['starting', 'ready', 'busy', 'draining', 'closed']);
    expect(canTransition('ready', 'busy')).toBe(true);
    expect(canTransition('busy', 'ready')).toBe(true);
    expect(canTransition('draining', 'ready')).toBe(false);
    expect(canTransition('closed', 'starting')).toBe(false);
  });
});

describe('findBrowserPid', () => {
  it('picks the browser process, not the sh wrapper nor a helper', () => {
    const procs: ProcessInfo[] = [
      { pid: 10, ppid: 1, rssKb: 1, cmdline: '/bin/sh -e /usr/bin/chromium-headless-shell --x=m' },
      { pid: 11, ppid: 10, rssKb: 1, cmdline: '/usr/lib/chromium/chromium-headless-shell --x=m' },
      { pid: 12, ppid: 11, rssKb: 1, cmdline: '/usr/lib/chromium/chromium-headless-shell --type=renderer --x=m' },
    ];
    expect(findBrowserPid('--x=m', procs)).toBe(11);
    expect(findBrowserPid('--x=other', procs)).toBeUndefined();
  });
});
