import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Makes `dir` (and its parents) and checks this process can create a file in it. Resolves with
 * undefined when it can, else with why not (for a log line at start-up: a folder the service
 * cannot write, such as a root-owned bind mount under a non-root image, is said at once instead of
 * showing up later as a missing screenshot).
 */
export async function unwritableReason(dir: string): Promise<string | undefined> {
  const probe = path.join(dir, `.write-check-${process.pid}-${Date.now()}`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(probe, '');
    await fs.rm(probe, { force: true });
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const who = os.userInfo({ encoding: 'utf8' });
    return `${e.code ?? 'erro'}: ${e.message} (usuário ${who.username}, uid ${who.uid})`;
  }
}
