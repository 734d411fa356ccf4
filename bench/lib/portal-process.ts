import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The demo portal in a child Node process (`src/demo/portal/cli.ts` under tsx). */
export interface PortalProcess {
  readonly url: string;
  readonly pid: number;
  close(): Promise<void>;
}

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/demo/portal/cli.ts');

/**
 * Starts the demo portal in its own process on a spare port, so its CPU is measured apart from
 * the service's (an in-process portal shares the bench's event loop and its /proc counters).
 */
export async function startPortalProcess(timeoutMs = 30_000): Promise<PortalProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI], {
    env: { ...process.env, PORTAL_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('demo portal process did not start')), timeoutMs);
    child.once('exit', (code) => reject(new Error(`demo portal process exited with code ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /Demo portal at (http:\/\/\S+)/.exec(out);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  child.stdout?.resume();
  const pid = child.pid;
  if (pid === undefined) throw new Error('demo portal process has no pid');
  let closed: Promise<void> | undefined;
  return {
    url,
    pid,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      })),
  };
}
