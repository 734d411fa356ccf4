/**
 * The service as a child process of the demo: `node dist/main.js`, exactly what `npm start` runs.
 * Its output is read line by line; stopping is SIGTERM to the node process itself (its graceful
 * shutdown closes the browsers), then SIGKILL of its whole tree if it does not exit in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { listProcesses } from '../workers/process-tree.js';

/** Options for {@link ServiceChild}. */
export interface ServiceChildOptions {
  /** The entry point. */
  readonly script: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Every output line (stdout and stderr), as it comes. */
  readonly onLine: (line: string) => void;
  /** How long a graceful stop may take before the tree is killed. @defaultValue 60_000 */
  readonly stopTimeoutMs?: number;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Pids of every descendant of `pid` (children, their children, ...), from /proc. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of listProcesses()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as number;
    out.push(next);
    stack.push(...(children.get(next) ?? []));
  }
  return out;
}

export class ServiceChild {
  readonly #child: ChildProcess;
  readonly #stopTimeoutMs: number;
  readonly exited: Promise<ChildExit>;
  #stopping: Promise<ChildExit> | undefined;
  /** Output lines kept for a failure report. */
  readonly #tail: string[] = [];

  constructor(options: ServiceChildOptions) {
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 60_000;
    this.#child = spawn(process.execPath, [options.script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal reaches the demo only, which stops the
      // service once, with SIGTERM, instead of both racing to shut it down.
      detached: true,
    });
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => resolve({ code, signal }));
      this.#child.once('error', () => resolve({ code: null, signal: null }));
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (pending + chunk).split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) this.#emit(line, options.onLine);
      });
      stream?.on('end', () => {
        if (pending) this.#emit(pending, options.onLine);
        pending = '';
      });
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null && this.#child.pid !== undefined;
  }

  /** The last output lines (for a report when the service fails). */
  tail(): readonly string[] {
    return this.#tail;
  }

  /**
   * SIGTERM and wait; past the timeout (or with `force`), SIGKILL to the service and every process
   * under it, browsers included. Safe to call twice; a forced call overtakes a graceful one.
   */
  stop(force = false): Promise<ChildExit> {
    if (force) return this.#kill();
    this.#stopping ??= this.#gracefulStop();
    return this.#stopping;
  }

  async #gracefulStop(): Promise<ChildExit> {
    if (this.running) this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#stopTimeoutMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    return first === 'timeout' ? this.#kill() : first;
  }

  async #kill(): Promise<ChildExit> {
    const pid = this.#child.pid;
    if (pid !== undefined && this.running) {
      // Collected before the kill: once the service is gone its browsers are reparented.
      const tree = descendantsOf(pid);
      this.#child.kill('SIGKILL');
      for (const p of tree) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    return this.exited;
  }

  #emit(line: string, onLine: (line: string) => void): void {
    this.#tail.push(line);
    if (this.#tail.length > 40) this.#tail.shift();
    onLine(line);
  }
}
