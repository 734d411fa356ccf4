import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactSweeper, planSweep } from '../../../src/workers/artifact-sweeper.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { waitFor } from '../../helpers/wait.js';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const HOUR = 3_600_000;
const KIB = 1024;

let root = '';
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'artifact-sweep-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A file of `kib` KiB last written `ageHours` before NOW. */
async function file(rel: string, kib: number, ageHours: number): Promise<string> {
  const full = path.join(root, rel);
  await fs.mkdir(path.dirname(full), { recursive: true });
  await fs.writeFile(full, Buffer.alloc(kib * KIB));
  const at = new Date(NOW - ageHours * HOUR);
  await fs.utimes(full, at, at);
  return rel;
}

async function remaining(): Promise<string[]> {
  const out: string[] = [];
  for (const dir of await fs.readdir(root)) {
    for (const name of await fs.readdir(path.join(root, dir))) out.push(path.join(dir, name));
  }
  return out.sort();
}

function sweeper(maxAgeHours: number, maxKib: number) {
  const { logger, lines } = captureLogger();
  const s = new ArtifactSweeper({
    dir: root,
    maxAgeMs: maxAgeHours * HOUR,
    maxBytes: maxKib * KIB,
    intervalMs: 60_000,
    logger,
    clock: () => NOW,
  });
  return { s, lines };
}

describe('ArtifactSweeper', () => {
  it('deletes the oldest files first while the folder is over its size bound', async () => {
    const oldest = await file('conferencia/a-attempt1.png', 40, 5);
    const older = await file('emissao/b-comprovante.txt', 40, 4);
    const newer = await file('conferencia/c-attempt1.json', 40, 3);
    const newest = await file('conferencia/d-attempt1.png', 40, 1);
    const { s } = sweeper(1000, 100);
    const report = await s.sweep();
    expect(report).toMatchObject({ files: 4, deletedBySize: 2, deletedByAge: 0, failed: 0, freedBytes: 80 * KIB });
    expect(report?.keptBytes).toBeLessThanOrEqual(100 * KIB);
    expect(await remaining()).toEqual([newer, newest].sort());
    expect(await remaining()).not.toContain(oldest);
    expect(await remaining()).not.toContain(older);
  });

  it('deletes files older than the age bound, whatever the size', async () => {
    await file('conferencia/old-attempt1.png', 1, 200);
    await file('conferencia/old-attempt1.json', 1, 169);
    const kept = await file('conferencia/new-attempt1.png', 1, 167);
    const { s } = sweeper(168, 0);
    expect(await s.sweep()).toMatchObject({ deletedByAge: 2, deletedBySize: 0 });
    expect(await remaining()).toEqual([kept]);
  });

  it('logs a failed sweep and carries on; a missing folder is empty', async () => {
    const { logger, lines } = captureLogger();
    const notADir = path.join(root, 'file');
    await fs.writeFile(notADir, 'x');
    const broken = new ArtifactSweeper({ dir: notADir, maxAgeMs: HOUR, maxBytes: 0, intervalMs: 60_000, logger });
    expect(await broken.sweep()).toBeUndefined();
    expect(lines.some((l) => l.level === 'warn' && l.message.startsWith('artefatos: falha ao limpar'))).toBe(true);
    const missing = new ArtifactSweeper({
      dir: path.join(root, 'none'),
      maxAgeMs: HOUR,
      maxBytes: 1,
      intervalMs: 60_000,
      logger,
    });
    expect(await missing.sweep()).toMatchObject({ files: 0, deletedByAge: 0, deletedBySize: 0 });
  });

  it('sweeps at start, once however often started; close is idempotent and ends the sweeps', async () => {
    await file('conferencia/old-attempt1.png', 1, 10);
    const { s } = sweeper(1, 0);
    s.start();
    s.start();
    await waitFor(async () => (await remaining()).length === 0, { what: 'the sweep at start' });
    const closing = s.close();
    expect(s.close()).toBe(closing);
    await closing;
    await file('conferencia/later-attempt1.png', 1, 10);
    expect(await s.sweep()).toBeUndefined();
    s.start();
    expect(await remaining()).toEqual(['conferencia/later-attempt1.png']);
  });
});

describe('planSweep', () => {
  it('takes by age, then oldest first down to the bound', () => {
    const f = (p: string, size: number, ageH: number) => ({ path: p, size, mtimeMs: NOW - ageH * HOUR });
    const files = [f('new', 10, 1), f('ancient', 10, 100), f('mid', 10, 5), f('old', 10, 9)];
    const plan = planSweep(files, NOW, 50 * HOUR, 15);
    expect(plan.byAge.map((x) => x.path)).toEqual(['ancient']);
    expect(plan.bySize.map((x) => x.path)).toEqual(['old', 'mid']);
    expect(planSweep(files, NOW, 1000 * HOUR, 0).bySize).toEqual([]);
  });
});
