import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdForPayloadId } from '../../../src/bridge/job-id.js';
import { listProcesses } from '../../../src/workers/process-tree.js';
import { isChromium } from '../../helpers/processes.js';
import { freePort, sharedRedisConfig, DEMO_DBS } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { FatalWaitError, waitFor } from '../../helpers/wait.js';

const { host, port } = sharedRedisConfig();
const ESCALAR = /^\[ESCALAR\] (\w+): (\d+) jobs → criando (\d+) worker\(s\) \(total: (\d+) → (\d+)\)/;
const SERVICE_PREFIX = '  service | ';

/**
 * A process identity that survives pid reuse: pid plus start time (field 22 of /proc/<pid>/stat).
 * `undefined` once it is gone; a zombie (exited, not yet reaped) counts as gone.
 */
function processKey(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    return `${pid}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

/**
 * Every process that has been under `root` while sampling runs (the service, its Chromium trees).
 * Kept by identity, so a process orphaned at exit (reparented away from the tree) is still checked.
 */
class TreeWatcher {
  readonly seen = new Map<string, { pid: number; browser: boolean; cmdline: string }>();
  readonly #timer: NodeJS.Timeout;

  constructor(readonly root: number) {
    this.#timer = setInterval(() => this.sample(), 250);
  }

  sample(): void {
    const all = listProcesses();
    const children = new Map<number, number[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
    const stack = [...(children.get(this.root) ?? [])];
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      stack.push(...(children.get(pid) ?? []));
      const key = processKey(pid);
      if (key && !this.seen.has(key)) {
        this.seen.set(key, {
          pid,
          browser: isChromium(all.find((p) => p.pid === pid)?.cmdline ?? ''),
          cmdline: all.find((p) => p.pid === pid)?.cmdline ?? '',
        });
      }
    }
  }

  get browsers(): number {
    return [...this.seen.values()].filter((p) => p.browser).length;
  }

  get redisServers(): number {
    return [...this.seen.values()].filter((p) => /^\S*redis-server /.test(p.cmdline)).length;
  }

  /** Seen processes still alive (same pid and start time). */
  alive(): string[] {
    return [...this.seen].filter(([key]) => processKey(Number(key.split(':')[0])) === key).map(([, p]) => p.cmdline);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Where the demo runs of this file write their logs: never the checkout's logs/. */
const LOG_DIR = tempDir('demo-test-logs');

/** Env every demo run gets: the shared Redis, the browser settings of this machine, a temp log. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    REDIS_HOST: host,
    REDIS_PORT: String(port),
    LOG_FILE: path.join(LOG_DIR, `demo-${Date.now()}.log`),
  };
  for (const name of ['BROWSER_EXECUTABLE_PATH', 'PLAYWRIGHT_BROWSERS_PATH']) {
    if (process.env[name]) env[name] = process.env[name];
  }
  return env;
}

/** An empty Redis database of the shared server (the demo uses the real list names). */
async function emptyDb(): Promise<number> {
  for (const db of DEMO_DBS) {
    const redis = new Redis({ host, port, db });
    const size = await redis.dbsize();
    redis.disconnect();
    if (size === 0) return db;
  }
  throw new Error('no empty Redis database among 8..15 for the demo test');
}

/**
 * The demo started as from a terminal: its own process group, so a test can send Ctrl-C's SIGINT
 * to the whole group as a terminal does.
 */
function spawnInOwnGroup(env: NodeJS.ProcessEnv): {
  child: ChildProcess;
  lines: string[];
  output(): string;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(timeoutMs: number): Promise<{ code: number | null }>;
  /** SIGKILL to the whole group, if still running. */
  kill(): void;
} {
  const child = spawn(process.execPath, ['dist/demo/run-demo.js'], {
    cwd: path.resolve(import.meta.dirname, '../../..'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null }>((resolve) => child.once('exit', (code) => resolve({ code })));
  let done = false;
  void exited.then(() => (done = true));
  const output = (): string => lines.join('\n');
  return {
    child,
    lines,
    output,
    waitForLine: (pattern, timeoutMs = 60_000) =>
      waitFor(
        () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit) return hit;
          if (done) throw new FatalWaitError(`demo exited before ${String(pattern)}:\n${output()}`);
          return undefined;
        },
        { timeoutMs, what: `demo line ${String(pattern)}` },
      ),
    stop: async (timeoutMs) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    kill: () => {
      if (done || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

function messages(demo: ServiceProcess): string[] {
  return demo.lines.filter((l) => l.startsWith(SERVICE_PREFIX)).map((l) => l.slice(SERVICE_PREFIX.length));
}

describe('npm run demo (node dist/demo/run-demo.js)', () => {
  let db: number;
  let redis: Redis;
  const running: ServiceProcess[] = [];
  const groups: { kill(): void }[] = [];

  beforeAll(async () => {
    db = await emptyDb();
    redis = new Redis({ host, port, db });
  });

  afterAll(async () => {
    for (const demo of running) await demo.stop('SIGKILL');
    for (const demo of groups) demo.kill();
    await redis.flushdb();
    redis.disconnect();
    fs.rmSync(LOG_DIR, { recursive: true, force: true });
  });

  it('uses exactly HTTP_PORT, REDIS_DB and PORTAL_PORT, says so, and writes its log to LOG_FILE', async () => {
    const httpPort = await freePort();
    const portalPort = await freePort();
    const logFile = path.join(LOG_DIR, 'exact.log');
    const demo = new ServiceProcess(
      {
        ...baseEnv(),
        LOG_FILE: logFile,
        REDIS_DB: String(db),
        HTTP_PORT: String(httpPort),
        PORTAL_PORT: String(portalPort),
        DEMO_CONFERENCIA: '2',
        DEMO_EMISSAO: '1',
        DEMO_KEEP_RUNNING: '1',
      },
      'dist/demo/run-demo.js',
    );
    running.push(demo);
    const using = await demo.waitForLine(/^Using Redis /, 60_000);
    expect(using).toBe(`Using Redis ${host}:${port} db ${db}, HTTP port ${httpPort}, portal port ${portalPort}`);
    expect(await demo.waitForLine(/^Dashboard:/, 180_000)).toBe(`Dashboard:  http://127.0.0.1:${httpPort}/`);
    const auth = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
    const status = await fetch(`http://127.0.0.1:${httpPort}/api/status`, { headers: { authorization: auth } });
    expect(status.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${portalPort}/`)).status).toBeLessThan(500);

    const pushed = await demo.waitForLine(/^Poller: pushed 2 jobs/);
    const runId = /\(run ([^)]+)\)/.exec(pushed)?.[1] as string;
    await demo.waitForLine(/^All results arrived\.$/, 300_000);
    // The service ran the jobs in REDIS_DB: they are there, completed.
    const queue = new Queue('conferencia', { connection: { host, port, db } });
    try {
      const job = await queue.getJob(jobIdForPayloadId(`demo-${runId}-conf-1`));
      expect(await job?.getState()).toBe('completed');
    } finally {
      await queue.close();
    }
    expect(fs.readFileSync(logFile, 'utf8')).toMatch(/\[ESCALAR\] conferencia/);
    const { code } = await demo.stop('SIGINT', 120_000);
    expect(code, demo.output()).toBe(0);
  }, 420_000);

  it('refuses a database that holds other data, unless told', async () => {
    const foreign = `someone-else:${Date.now()}`;
    await redis.set(foreign, 'not ours');
    try {
      const refused = new ServiceProcess(
        { ...baseEnv(), REDIS_DB: String(db), HTTP_PORT: String(await freePort()) },
        'dist/demo/run-demo.js',
      );
      running.push(refused);
      const { code } = await refused.exited;
      expect(code).not.toBe(0);
      expect(refused.output()).toContain(`Redis db ${db} holds other data`);
      expect(refused.output()).toContain(JSON.stringify(foreign));
      expect(refused.output()).toContain('DEMO_ALLOW_OTHER_DATA=1');

      const told = new ServiceProcess(
        {
          ...baseEnv(),
          REDIS_DB: String(db),
          HTTP_PORT: String(await freePort()),
          DEMO_ALLOW_OTHER_DATA: '1',
          DEMO_CONFERENCIA: '1',
          DEMO_EMISSAO: '0',
        },
        'dist/demo/run-demo.js',
      );
      running.push(told);
      await told.waitForLine(/^Using Redis /, 60_000);
      await told.waitForLine(/^Dashboard:/, 180_000);
      const stopped = await told.stop('SIGINT', 120_000);
      expect(stopped.code, told.output()).toBe(0);
    } finally {
      await redis.del(foreign);
    }
  }, 300_000);

  it('runs the scenario: scales to 2 conferencia and 1 emissao workers, gets every result, stops clean on SIGINT', async () => {
    const httpPort = await freePort();
    const demo = new ServiceProcess(
      {
        ...baseEnv(),
        DEMO_REDIS_DB: String(db),
        DEMO_CONFERENCIA: '60',
        DEMO_EMISSAO: '2',
        DEMO_HTTP_PORT: String(httpPort),
        PORTAL_PORT: String(await freePort()),
        DEMO_KEEP_RUNNING: '1',
        // The peak checked below is the plain rule's; capacity on a loaded machine may give fewer.
        CAPACITY_ENABLED: 'false',
      },
      'dist/demo/run-demo.js',
    );
    running.push(demo);
    const tree = new TreeWatcher(demo.child.pid as number);
    try {
      await demo.waitForLine(/^Dashboard: +http:\/\/127\.0\.0\.1:\d+\/$/, 180_000);
      expect(demo.output()).toContain(`http://127.0.0.1:${httpPort}/admin/queues`);
      expect(demo.output()).toMatch(/user demo \/ password demo/);
      // The dashboard answers with the printed credentials, and only with them.
      const auth = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
      expect(
        (await fetch(`http://127.0.0.1:${httpPort}/api/status`, { headers: { authorization: auth } })).status,
      ).toBe(200);
      expect((await fetch(`http://127.0.0.1:${httpPort}/api/status`)).status).toBe(401);

      const pushed = await demo.waitForLine(/^Poller: pushed 60 jobs to fila:conferencia and 2 to fila:emissao/);
      const runId = /\(run ([^)]+)\)/.exec(pushed)?.[1] as string;
      expect(runId).toBeTruthy();

      await demo.waitForLine(/^All results arrived\.$/, 300_000);
      await demo.waitForLine(/peak workers:/);
      const out = demo.output();
      expect(out).toMatch(/results: +62 of 62/);
      expect(out).toMatch(/by queue: +60 conferencia, 2 emissao/);
      expect(out).toMatch(/ ok: +62\n/);
      expect(out).toMatch(/errors: +0\n/);
      expect(out).toMatch(/peak workers: conferencia 2, emissao 1/);
      expect(out).toMatch(/Still running \(DEMO_KEEP_RUNNING=1\)/);

      // The scaler's lines, in the contract's shape, reaching 2 and 1 workers.
      const ups = messages(demo)
        .map((m) => ESCALAR.exec(m))
        .filter((m): m is RegExpExecArray => m !== null);
      expect(ups.length).toBeGreaterThan(0);
      for (const m of ups) expect(Number(m[5]) - Number(m[4])).toBe(Number(m[3]));
      const reached = (queue: string): number =>
        Math.max(0, ...ups.filter((m) => m[1] === queue).map((m) => Number(m[5])));
      expect(reached('conferencia')).toBe(2);
      expect(reached('emissao')).toBe(1);
      expect(messages(demo)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^\[INFO\] Worker 'Worker-conferencia-[12]' iniciado\. Total de conferencia: 2$/),
          "[INFO] Worker 'Worker-emissao-1' iniciado. Total de emissao: 1",
        ]),
      );

      // Independently of the writer: every job of the run completed in BullMQ, and the writer
      // took every result entry off fila:resultado.
      const ids = [
        ...Array.from({ length: 60 }, (_, i) => ['conferencia', `demo-${runId}-conf-${i + 1}`] as const),
        ...Array.from({ length: 2 }, (_, i) => ['emissao', `demo-${runId}-emis-${i + 1}`] as const),
      ];
      const queues = {
        conferencia: new Queue('conferencia', { connection: { host, port, db } }),
        emissao: new Queue('emissao', { connection: { host, port, db } }),
      };
      try {
        for (const [queue, id] of ids) {
          const job = await queues[queue].getJob(jobIdForPayloadId(id));
          expect(job?.data, id).toMatchObject({ id });
          expect(await job?.getState(), id).toBe('completed');
        }
      } finally {
        await queues.conferencia.close();
        await queues.emissao.close();
      }
      expect(await redis.llen('fila:resultado')).toBe(0);
      expect(await redis.llen('fila:conferencia')).toBe(0);
      expect(await redis.llen('fila:emissao')).toBe(0);

      tree.sample();
      expect(tree.browsers).toBeGreaterThan(0); // the tree watch sees the browsers it must see gone
      const { code } = await demo.stop('SIGINT', 120_000);
      expect(code, demo.output()).toBe(0);
      expect(demo.output()).toMatch(/Service stopped \(exit 0\)/);
      expect(tree.alive()).toEqual([]);
    } finally {
      tree.stop();
    }
  }, 420_000);

  it('stops by itself after the summary without DEMO_KEEP_RUNNING, leaving nothing running', async () => {
    const demo = new ServiceProcess(
      {
        ...baseEnv(),
        DEMO_REDIS_DB: String(db),
        DEMO_CONFERENCIA: '3',
        DEMO_EMISSAO: '1',
        DEMO_HTTP_PORT: String(await freePort()),
      },
      'dist/demo/run-demo.js',
    );
    running.push(demo);
    const tree = new TreeWatcher(demo.child.pid as number);
    try {
      const { code } = await demo.exited;
      expect(code, demo.output()).toBe(0);
      expect(demo.output()).toMatch(/results: +4 of 4/);
      expect(demo.output()).toMatch(/Service stopped \(exit 0\)/);
      expect(tree.browsers).toBeGreaterThan(0);
      await waitFor(() => tree.alive().length === 0, { timeoutMs: 5000, what: 'no process of the demo left' });
    } finally {
      tree.stop();
    }
  }, 300_000);

  it('with nothing at the configured loopback port: starts its own Redis, completes, stops on Ctrl-C, leaves nothing', async () => {
    const closed = await freePort(); // nothing listens there
    const demo = spawnInOwnGroup({
      ...baseEnv(),
      REDIS_PORT: String(closed),
      DEMO_CONFERENCIA: '3',
      DEMO_EMISSAO: '1',
      DEMO_HTTP_PORT: String(await freePort()),
      DEMO_KEEP_RUNNING: '1',
    });
    groups.push(demo);
    const tree = new TreeWatcher(demo.child.pid as number);
    try {
      const said = await demo.waitForLine(/^No Redis answers at /, 120_000);
      const m = new RegExp(
        `^No Redis answers at 127\\.0\\.0\\.1:${closed}: started a private one for npm run demo on 127\\.0\\.0\\.1:(\\d+) \\(no persistence, folder (\\S+), removed on exit\\)$`,
      ).exec(said);
      expect(m, said).not.toBeNull();
      const privatePort = Number(m?.[1]);
      const dir = m?.[2] as string;
      expect(demo.lines[0]).toBe(said); // said first, and once
      expect(demo.lines.filter((l) => l.includes('private')).length).toBe(1);
      expect(fs.existsSync(dir)).toBe(true);

      await demo.waitForLine(/^Still running \(DEMO_KEEP_RUNNING=1\)/, 300_000);
      expect(demo.output()).toMatch(/results: +4 of 4/);
      expect(demo.output()).toMatch(/errors: +0\n/);
      tree.sample();
      expect(tree.browsers).toBeGreaterThan(0);
      expect(tree.redisServers).toBe(1);

      // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
      process.kill(-(demo.child.pid as number), 'SIGINT');
      const { code } = await demo.stop(120_000);
      expect(code, demo.output()).toBe(0);
      expect(demo.output()).toMatch(/Service stopped \(exit 0\)/);
      await waitFor(() => tree.alive().length === 0 && !fs.existsSync(dir), {
        timeoutMs: 20_000,
        what: 'no process of the demo (redis-server included) and no Redis folder left',
      });
      const servers = listProcesses().filter((p) => p.cmdline.includes(`redis-server 127.0.0.1:${privatePort}`));
      expect(servers).toEqual([]);
    } finally {
      tree.stop();
    }
  }, 420_000);

  it('with nothing at the configured port and no redis-server on PATH: one line of help, exit 69', async () => {
    const closed = await freePort();
    const demo = new ServiceProcess(
      { ...baseEnv(), REDIS_PORT: String(closed), PATH: '/nonexistent' },
      'dist/demo/run-demo.js',
    );
    running.push(demo);
    const { code } = await demo.exited;
    expect(code).toBe(69);
    expect(demo.lines).toEqual([
      `npm run demo needs redis-server (no Redis answers at 127.0.0.1:${closed} and none is on PATH). ` +
        'Install: sudo apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS); ' +
        'or use docker compose --profile demo up',
    ]);
  });

  it('with no Redis on another machine prints one line saying how to start one and exits non-zero', async () => {
    const demo = new ServiceProcess({ ...baseEnv(), REDIS_HOST: '192.0.2.1' }, 'dist/demo/run-demo.js');
    running.push(demo);
    const { code } = await demo.exited;
    expect(code).not.toBe(0);
    expect(demo.lines).toHaveLength(1);
    expect(demo.lines[0]).toMatch(
      /^No Redis at 192\.0\.2\.1:\d+ \(\w+\)\. Start one: redis-server --daemonize yes {2}\(or: docker run -p 6379:6379 redis:7\)$/,
    );
  });
});
