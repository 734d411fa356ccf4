import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/types.js';

/** A test config: NODE_ENV=test, the given Redis db, HTTP off, no log file, plus `overrides` as CONFIG_FILE. */
export function serviceConfig(overrides: Record<string, unknown>, env: Record<string, string> = {}): AppConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-cfg-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ http: { enabled: false }, log: { file: '' }, ...overrides }));
  try {
    return loadConfig({
      env: {
        NODE_ENV: 'test',
        CONFIG_FILE: file,
        REDIS_HOST: process.env.REDIS_HOST ?? '127.0.0.1',
        REDIS_PORT: process.env.REDIS_PORT ?? '6379',
        ...env,
      },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
