import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium, findOnPath, missingBinaryLine, MissingBinaryError } from '../../../src/dev/prerequisites.js';
import { isLoopback } from '../../../src/dev/private-redis.js';

const REDIS = { binary: 'redis-server', lookedFor: 'no Redis answers at 127.0.0.1:6390 and none is on PATH' } as const;
const CHROMIUM = { binary: 'Chromium', lookedFor: 'none at /usr/bin/chromium-headless-shell' } as const;

describe('missing-binary help line', () => {
  it('names what is missing and the exact install commands, on one line', () => {
    expect(missingBinaryLine('npm test', [REDIS])).toBe(
      'npm test needs redis-server (no Redis answers at 127.0.0.1:6390 and none is on PATH). ' +
        'Install: sudo apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS); ' +
        'or use docker compose --profile demo up',
    );
    expect(missingBinaryLine('npm run demo', [CHROMIUM])).toBe(
      'npm run demo needs Chromium (none at /usr/bin/chromium-headless-shell). ' +
        'Install: sudo apt-get install chromium-headless-shell (Debian/Ubuntu), npx playwright install chromium (macOS); ' +
        'or use docker compose --profile demo up',
    );
    const both = new MissingBinaryError('npm run demo', [REDIS, CHROMIUM]);
    expect(both.message).toContain('needs redis-server (');
    expect(both.message).toContain(') and Chromium (');
    expect(both.message).toContain('sudo apt-get install redis-server chromium-headless-shell (Debian/Ubuntu)');
    expect(both.message).toContain('brew install redis && npx playwright install chromium (macOS)');
    expect(both.message).not.toContain('\n');
  });
});

describe('findOnPath', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'find-on-path-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds an executable file, skipping non-executables, folders and empty entries', () => {
    fs.writeFileSync(path.join(dir, 'plain'), '');
    fs.mkdirSync(path.join(dir, 'folder'));
    fs.writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    const pathVar = ['', '/nonexistent', dir].join(path.delimiter);
    expect(findOnPath('tool', pathVar)).toBe(path.join(dir, 'tool'));
    expect(findOnPath('plain', pathVar)).toBeUndefined();
    expect(findOnPath('folder', pathVar)).toBeUndefined();
    expect(findOnPath('tool', '/nonexistent')).toBeUndefined();
  });
});

describe('findChromium', () => {
  const lookup = (files: string[], own = '/pw/chrome') => ({
    exists: (f: string) => files.includes(f),
    playwrightPath: () => own,
  });

  it('takes BROWSER_EXECUTABLE_PATH when set, and says so when it does not exist', () => {
    expect(findChromium({ BROWSER_EXECUTABLE_PATH: '/opt/c' }, lookup(['/opt/c', '/usr/bin/chromium']))).toEqual({
      path: '/opt/c',
    });
    expect(findChromium({ BROWSER_EXECUTABLE_PATH: '/opt/c' }, lookup(['/usr/bin/chromium']))).toEqual({
      binary: 'Chromium',
      lookedFor: 'BROWSER_EXECUTABLE_PATH=/opt/c does not exist',
    });
  });

  it('then a system build, headless shell first, then Playwright’s own', () => {
    expect(findChromium({}, lookup(['/usr/bin/chromium', '/usr/bin/chromium-headless-shell']))).toEqual({
      path: '/usr/bin/chromium-headless-shell',
    });
    expect(findChromium({}, lookup(['/usr/bin/chromium', '/pw/chrome']))).toEqual({ path: '/usr/bin/chromium' });
    expect(findChromium({}, lookup(['/pw/chrome']))).toEqual({ path: '/pw/chrome' });
  });

  it('reports Chromium missing when none of them exists', () => {
    const missing = findChromium({}, lookup([]));
    expect(missing).toMatchObject({ binary: 'Chromium' });
    expect(
      findChromium(
        {},
        {
          exists: () => false,
          playwrightPath: () => {
            throw new Error('no registry');
          },
        },
      ),
    ).toEqual(missing);
  });
});

describe('isLoopback', () => {
  it('is true only for addresses of this machine', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1']) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ['10.0.0.5', '192.0.2.1', 'redis', 'redis.example.com', '::', '0.0.0.0', '128.0.0.1']) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
