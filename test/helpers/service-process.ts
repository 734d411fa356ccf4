import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FatalWaitError, waitFor } from './wait.js';

/** The service started as `npm start` / Docker start it (`node dist/main.js`), with its output kept. */
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: NodeJS.ProcessEnv, script = 'dist/main.js', args: string[] = []) {
    this.child = spawn(process.execPath, [script, ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** Waits for a line matching `pattern`; fails at once if the process exits first. */
  async waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    return waitFor(
      () => {
        const hit = this.lines.find((l) => pattern.test(l));
        if (hit) return hit;
        if (exited || !this.running) {
          throw new FatalWaitError(`process exited before ${String(pattern)}:\n${this.output()}`);
        }
        return undefined;
      },
      { timeoutMs, what: `log line ${String(pattern)}` },
    );
  }

  /** Sends a signal and waits for the exit (kills hard after `timeoutMs`). */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 60_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** A temp folder for a test's config file, log file and artifacts. */
export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
}
