import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CapacityOptions } from '../../src/capacity/capacity.js';
import { loadConfig } from '../../src/config/load.js';

let cached: CapacityOptions | undefined;

/** The `capacity.*` defaults as the config schema gives them (the one place they are written). */
export function capacityDefaults(): CapacityOptions {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cap-defaults-'));
  try {
    fs.writeFileSync(path.join(dir, 'test.json'), '{}');
    const { minJobSamples: _samples, ...capacity } = loadConfig({ env: { NODE_ENV: 'test' }, configDir: dir }).capacity;
    cached = capacity;
    return capacity;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
