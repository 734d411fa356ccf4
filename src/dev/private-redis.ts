/**
 * A throw-away `redis-server` for `npm run demo` and `npm test` on a machine where none runs: a
 * spare loopback port, no persistence, a temporary folder. Never used by the service itself.
 *
 * The server runs under a small `sh` watchdog holding the read end of a pipe whose only writer is
 * this process. However this process ends (normal exit, Ctrl-C, an uncaught error, even SIGKILL)
 * the pipe closes, and the watchdog stops the server and removes the folder. The watchdog has its
 * own process group, so a Ctrl-C in the terminal does not stop Redis before the demo's service
 * has shut down gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../lib/sleep.js';
import { DevSetupError } from './errors.js';

/** The private Redis could not be started; the message is the one line to print. */
export class PrivateRedisError extends DevSetupError {
  override readonly name = 'PrivateRedisError';
}

/** True for addresses of this machine only: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^(0+:){7}0*1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/**
 * True when something at `host:port` answers a PING with any Redis reply (`+PONG`, or `-NOAUTH`
 * from a server that wants a password). Refused, unreachable or silent: false.
 */
export function redisAnswers(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(/^[+-]/.test(chunk.toString('latin1'))));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function spareLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Options for {@link startPrivateRedis}. */
export interface PrivateRedisOptions {
  /** The `redis-server` binary. @defaultValue `redis-server` found on PATH by `sh` */
  readonly redisServer?: string;
  /** Set as `requirepass`, so clients configured with REDIS_PASSWORD connect unchanged. @defaultValue none */
  readonly password?: string;
  /** How long the server may take to answer PING. @defaultValue 30_000 */
  readonly readyTimeoutMs?: number;
}

/** A running private Redis. */
export interface PrivateRedis {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Its temporary folder (config and log), removed when it stops. */
  readonly dir: string;
  /** The watchdog's pid (also its process group). */
  readonly pid: number;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

// $1: folder, $2: redis-server. fd 3 keeps the pipe from this process: an asynchronous list's
// stdin would be /dev/null. Redis exits 0 on SIGTERM; any other exit reports its last log line.
const WATCHDOG = `
dir="$1"
exec 3<&0
"$2" "$dir/redis.conf" >&2 &
pid=$!
( read -r _ <&3; kill -TERM "$pid" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
[ "$status" -eq 0 ] || echo "redis-server exited ($status): $(tail -n 1 "$dir/redis.log" 2>/dev/null)" >&2
rm -rf "$dir"
exit "$status"
`;

/** A quoted value for redis.conf. */
function confString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Starts `redis-server` on a spare 127.0.0.1 port with no persistence in a new temporary folder
 * and waits until it answers PING. Throws a {@link PrivateRedisError} when it does not start.
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  let lastError: PrivateRedisError | undefined;
  // The port is free when picked but may be taken before redis-server binds it: try another.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await spareLoopbackPort(), options);
    } catch (err) {
      if (!(err instanceof PrivateRedisError)) throw err;
      lastError = err;
    }
  }
  throw lastError as PrivateRedisError;
}

async function startOnce(port: number, options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpa-pool-redis-'));
  const conf = [
    `port ${port}`,
    'bind 127.0.0.1',
    'daemonize no',
    'save ""',
    'appendonly no',
    `dir ${confString(dir)}`,
    `logfile ${confString(path.join(dir, 'redis.log'))}`,
    ...(options.password ? [`requirepass ${confString(options.password)}`] : []),
  ];
  fs.writeFileSync(path.join(dir, 'redis.conf'), `${conf.join('\n')}\n`, { mode: 0o600 });

  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'rpa-pool-redis', dir, options.redisServer ?? 'redis-server'], {
    detached: true,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const stderrClosed = new Promise<void>((resolve) => child.stderr?.once('close', resolve) ?? resolve());
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  // Nothing here keeps this process alive: if it ends without stop(), the watchdog cleans up.
  child.unref();
  (child.stdin as net.Socket | null)?.unref();
  (child.stderr as net.Socket | null)?.unref();

  const handle = new RunningRedis(child, exited, port, dir);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  let gone = false;
  void exited.then(() => (gone = true));
  while (!(await redisAnswers('127.0.0.1', port, 1000))) {
    if (gone || Date.now() > deadline) {
      await handle.stop();
      await Promise.race([stderrClosed, sleep(1000)]); // 'exit' may come before the last output
      // "redis-server exited (1): 123:M 29 Nov 2026 23:15:58.809 # Failed listening on port ..."
      const last = stderr.trim().split('\n').pop()?.trim() ?? '';
      const why = last.replace(/\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [#*-] /, '').trim() || 'no answer to PING';
      throw new PrivateRedisError(`A private redis-server on 127.0.0.1:${port} did not start: ${why}`);
    }
    await sleep(50);
  }
  return handle;
}

class RunningRedis implements PrivateRedis {
  readonly host = '127.0.0.1' as const;
  readonly pid: number;
  #stopping: Promise<void> | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly exited: Promise<void>,
    readonly port: number,
    readonly dir: string,
  ) {
    this.pid = child.pid ?? 0;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    // End of input: the watchdog stops the server, waits for it and removes the folder.
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 15_000);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout' && this.pid > 0) {
      try {
        process.kill(-this.pid, 'SIGKILL'); // the watchdog's group: it and the server
      } catch {
        // already gone
      }
      await this.exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
