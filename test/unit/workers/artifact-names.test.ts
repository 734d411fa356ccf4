import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uniqueFileStem } from '../../../src/lib/file-name.js';
import { artifactBase, jobArtifactFiles, jobFileStem } from '../../../src/workers/artifacts.js';

describe('artifact names', () => {
  it('always carry a hash of the whole id, so ids that read alike never share a file', () => {
    expect(jobFileStem('a b')).not.toBe(jobFileStem('a_b'));
    expect(jobFileStem('a b')).toMatch(/^a_b-[0-9a-f]{12}$/);
    expect(jobFileStem('x')).toMatch(/^x-[0-9a-f]{12}$/);
    // Job `x` and job `x-attempt1`: neither name is a prefix of the other's files.
    const x = path.basename(artifactBase('/a', 'q', 'x', 1));
    const xa = path.basename(artifactBase('/a', 'q', 'x-attempt1', 1));
    expect(xa.startsWith(`${jobFileStem('x')}-attempt`)).toBe(false);
    expect(x.startsWith(`${jobFileStem('x-attempt1')}-attempt`)).toBe(false);
  });

  it('stay plain, short, never hidden', () => {
    for (const id of ['', '..', '../../etc/passwd', 'ação', 'x'.repeat(5000), '%s7', 'a:b']) {
      const stem = uniqueFileStem(id);
      expect(stem, id).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*-[0-9a-f]{12}$/);
      expect(stem.length, id).toBeLessThanOrEqual(64 + 13);
    }
    expect(uniqueFileStem('x'.repeat(300) + 'a')).not.toBe(uniqueFileStem('x'.repeat(300) + 'b'));
  });
});

describe('jobArtifactFiles', () => {
  let root = '';
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'artifact-names-'));
    await fs.mkdir(path.join(root, 'q'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });
  const touch = (name: string): Promise<void> => fs.writeFile(path.join(root, 'q', name), 'x');

  it('matches files to a job by its exact id', async () => {
    for (const id of ['x', 'x-attempt1', 'a b', 'a_b']) {
      await touch(`${jobFileStem(id)}-attempt1.png`);
      await touch(`${jobFileStem(id)}-attempt1.json`);
    }
    await touch(`${jobFileStem('x')}-attempt2.png`);
    const of = (jobId: string, attempts = 1) =>
      jobArtifactFiles({ artifactsDir: root, queue: 'q', jobId, attempts, kinds: ['png'] });
    expect(await of('x')).toEqual([
      path.join('q', `${jobFileStem('x')}-attempt1.png`),
      path.join('q', `${jobFileStem('x')}-attempt2.png`),
    ]);
    expect(await of('x-attempt1')).toEqual([path.join('q', `${jobFileStem('x-attempt1')}-attempt1.png`)]);
    expect(await of('a b')).toEqual([path.join('q', `${jobFileStem('a b')}-attempt1.png`)]);
    expect(await of('a_b')).toEqual([path.join('q', `${jobFileStem('a_b')}-attempt1.png`)]);
    expect(await of('y')).toEqual([]);
  });

  it('keeps files named before the hash where the job itself names them, by exact name', async () => {
    await touch('x-attempt1.png');
    await touch('x-attempt1-attempt1.png');
    const mentions = `boom [screenshot: ${root}/q/x-attempt1.png; url: http://p]\nq/x-attempt1-attempt1.png /etc/x.png ../../s.png`;
    const files = (jobId: string) =>
      jobArtifactFiles({ artifactsDir: root, queue: 'q', jobId, attempts: 1, kinds: ['png'], mentions });
    expect(await files('x')).toEqual([path.join('q', 'x-attempt1.png')]);
    expect(await files('x-attempt1')).toEqual([path.join('q', 'x-attempt1-attempt1.png')]);
    expect(await files('z')).toEqual([]); // mentioned, but not z's name
  });
});
