/**
 * The whole system on one machine (`npm run demo`): demo portal, the service as a child process,
 * the demo poller and writer. Redis must already run; nothing of the operators' data is deleted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { sleep } from '../lib/sleep.js';
import { DEMO_PASSWORD, DEMO_USER, startPortal, type PortalHandle } from './portal/server.js';
import { demoRedisOptions, describeTarget, redisEnv, type RedisTarget } from './env.js';
import { pushScenario, runIdPrefix } from './poller.js';
import { checkDbIsOurs } from './db-check.js';
import { checkPortFree, checkRedis, DemoSetupError } from './preflight.js';
import { ServiceChild, type ChildExit } from './service-child.js';
import { isShownLine, parseServiceLine, WorkerPeaks } from './service-lines.js';
import type { StatusLine } from './status-line.js';
import { DemoWriter, reportLines, type WriterReport } from './writer.js';

/** Options for {@link DemoRunner}. */
export interface DemoRunnerOptions {
  readonly runId: string;
  readonly conferenciaCount: number;
  readonly emissaoCount: number;
  readonly redis: RedisTarget;
  /** The service's dashboard and Bull Board. */
  readonly httpPort: number;
  /** 0: a free one. */
  readonly portalPort: number;
  /** Run even when the Redis database holds keys that are not rpa-pool's. */
  readonly allowOtherData: boolean;
  /** The service's log file (its `LOG_FILE`); results of other runs are appended next to it. */
  readonly logFile: string;
  /** After the summary, keep everything up until the signal aborts. */
  readonly keepRunning: boolean;
  /** Repository root: where `dist/main.js` and `logs/` are. */
  readonly rootDir: string;
  readonly output: StatusLine;
  /** How long the service may take to answer `/readyz` with 200. @defaultValue 180_000 */
  readonly readyTimeoutMs?: number;
}

/** The credentials the demo gives the dashboard and Bull Board. */
export const BOARD_CREDENTIALS = { user: 'demo', password: 'demo' } as const;

const HTTP_HOST = '127.0.0.1';
const RESULT_LIST = 'fila:resultado';
const SOURCE_LISTS = ['fila:conferencia', 'fila:emissao'] as const;

export interface DemoOutcome {
  /** What the writer saw; `undefined` when the run stopped before the jobs were pushed. */
  readonly report: WriterReport | undefined;
  readonly peakWorkers: Readonly<Record<string, number>>;
  /** The service exited on its own, before the demo stopped it. */
  readonly serviceFailed: boolean;
}

export class DemoRunner {
  readonly #o: DemoRunnerOptions;
  readonly #peaks = new WorkerPeaks();
  readonly #serviceGone = new AbortController();
  #portal: PortalHandle | undefined;
  #service: ServiceChild | undefined;
  #redis: Redis | undefined;
  #blocking: Redis | undefined;
  #stoppingService = false;
  #closing: Promise<ChildExit | undefined> | undefined;

  constructor(options: DemoRunnerOptions) {
    this.#o = options;
  }

  /**
   * Runs the demo until every result arrived (and, with `keepRunning`, until `signal` aborts), or
   * until `signal` aborts. Always leaves nothing running: call {@link close} in a `finally`.
   * Throws a {@link DemoSetupError} when Redis or the HTTP port is not usable.
   */
  async run(signal: AbortSignal): Promise<DemoOutcome> {
    const o = this.#o;
    const out = o.output;
    await checkRedis(o.redis);
    await checkPortFree(HTTP_HOST, o.httpPort, 'Set HTTP_PORT (or DEMO_HTTP_PORT) to another port.');
    this.#redis = new Redis(demoRedisOptions(o.redis, false));
    this.#redis.on('error', () => undefined); // a failing command reports it
    await checkDbIsOurs(this.#redis, o.redis.db, o.allowOtherData, o.redis.prefix);
    await this.#warnAboutLeftovers();

    this.#portal = await startPortal({ port: o.portalPort, host: '127.0.0.1' });
    const portalPort = new URL(this.#portal.url).port;
    out.line(
      `Using Redis ${describeTarget(o.redis)} db ${o.redis.db}, HTTP port ${o.httpPort}, portal port ${portalPort}` +
        `${o.portalPort === 0 ? ' (a free one; PORTAL_PORT sets it)' : ''}`,
    );
    out.line(`Demo portal at ${this.#portal.url} (user ${DEMO_USER} / password ${DEMO_PASSWORD})`);
    this.#startService();
    out.line(`Starting the service (node dist/main.js, log in ${o.logFile}) ...`);
    if (!(await this.#waitForReady(signal))) return this.#outcome(undefined);

    const base = `http://${HTTP_HOST}:${o.httpPort}`;
    const { user, password } = BOARD_CREDENTIALS;
    out.line(`Dashboard:  ${base}/`);
    out.line(`Bull Board: ${base}/admin/queues`);
    out.line(`            (user ${user} / password ${password})`);

    const pushed = await pushScenario(this.#redis, {
      runId: o.runId,
      conferenciaCount: o.conferenciaCount,
      emissaoCount: o.emissaoCount,
    });
    out.line(
      `Poller: pushed ${pushed.conferencia} jobs to fila:conferencia and ${pushed.emissao} to fila:emissao (run ${o.runId})`,
    );

    this.#blocking = new Redis(demoRedisOptions(o.redis, true));
    this.#blocking.on('error', () => undefined);
    const otherResults = path.join(path.dirname(o.logFile), 'demo-other-results.jsonl');
    const writer = new DemoWriter(this.#blocking, {
      list: RESULT_LIST,
      total: pushed.ids.length,
      idPrefix: runIdPrefix(o.runId),
      output: out,
      onForeign: (raw) => fs.appendFileSync(otherResults, `${raw}\n`),
    });
    const report = await writer.run(AbortSignal.any([signal, this.#serviceGone.signal]));

    out.line(report.complete ? 'All results arrived.' : 'Stopped before all results arrived.');
    for (const line of reportLines(report)) out.line(line);
    const peaks = Object.entries(this.#peaks.all()).map(([queue, n]) => `${queue} ${n}`);
    out.line(`  peak workers: ${peaks.length > 0 ? peaks.join(', ') : 'none started'}`);
    if (report.foreign > 0) out.line(`  (entries not of this run were appended to ${otherResults})`);

    if (o.keepRunning && report.complete && !signal.aborted && !this.#serviceGone.signal.aborted) {
      out.line(`Still running (DEMO_KEEP_RUNNING=1): dashboard at ${base}/. Press Ctrl-C to stop.`);
      await sleep(2 ** 31 - 1, AbortSignal.any([signal, this.#serviceGone.signal]));
    }
    return this.#outcome(report);
  }

  /**
   * Stops everything in reverse start order: the service (SIGTERM, wait; `force`: SIGKILL of its
   * tree), the portal, the Redis connections, the temp dir. Idempotent; a forced call overtakes.
   */
  close(force = false): Promise<ChildExit | undefined> {
    if (force) return this.#service?.stop(true) ?? Promise.resolve(undefined);
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<ChildExit | undefined> {
    let exit: ChildExit | undefined;
    try {
      if (this.#service) {
        if (this.#service.running) this.#o.output.line('Stopping the service (SIGTERM; active jobs finish) ...');
        this.#stoppingService = true;
        exit = await this.#service.stop();
      }
    } catch (err) {
      this.#o.output.line(`Stopping the service failed: ${String(err)}`);
    }
    try {
      await this.#portal?.close();
    } catch (err) {
      this.#o.output.line(`Closing the portal failed: ${String(err)}`);
    }
    this.#blocking?.disconnect();
    this.#redis?.disconnect();
    return exit;
  }

  #outcome(report: WriterReport | undefined): DemoOutcome {
    return {
      report,
      peakWorkers: this.#peaks.all(),
      serviceFailed: this.#serviceGone.signal.aborted,
    };
  }

  async #warnAboutLeftovers(): Promise<void> {
    const redis = this.#redis as Redis;
    const results = await redis.llen(RESULT_LIST);
    if (results > 0) {
      this.#o.output.line(
        `Warning: ${RESULT_LIST} already holds ${results} entries from before this demo. The demo writer takes ` +
          `entries off the list as a writer does, counts only this run's, and appends the others to ` +
          `${path.join(path.dirname(this.#o.logFile), 'demo-other-results.jsonl')}.`,
      );
    }
    for (const list of SOURCE_LISTS) {
      const n = await redis.llen(list);
      if (n > 0) this.#o.output.line(`Warning: ${list} already holds ${n} items; the service will run them too.`);
    }
  }

  #startService(): void {
    const o = this.#o;
    // config/demo.json: short scaler interval and window so scaling is visible within the demo
    // (docker compose's demo profile uses the same file through CONFIG_FILE).
    const configFile = path.join(o.rootDir, 'config', 'demo.json');
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...redisEnv(o.redis),
      NODE_ENV: 'development',
      CONFIG_FILE: configFile,
      PORTAL_URL: this.#portal?.url ?? '',
      RPA_USUARIO: DEMO_USER,
      RPA_SENHA: DEMO_PASSWORD,
      HTTP_HOST,
      HTTP_PORT: String(o.httpPort),
      BOARD_USER: BOARD_CREDENTIALS.user,
      BOARD_PASSWORD: BOARD_CREDENTIALS.password,
      LOG_FILE: o.logFile,
      // The demo reads the service's console lines.
      LOG_FORMAT: 'text',
    };
    this.#service = new ServiceChild({
      script: path.join(o.rootDir, 'dist', 'main.js'),
      cwd: o.rootDir,
      env,
      onLine: (raw) => this.#onServiceLine(raw),
    });
    void this.#service.exited.then((exit) => {
      if (this.#stoppingService) return;
      o.output.line(`The service exited on its own (${exit.signal ?? `code ${exit.code}`}). Its last lines:`);
      for (const line of this.#service?.tail() ?? []) o.output.line(`  service | ${line}`);
      this.#serviceGone.abort();
    });
  }

  #onServiceLine(raw: string): void {
    const line = parseServiceLine(raw);
    this.#peaks.see(line.message);
    if (isShownLine(line)) this.#o.output.line(`  service | ${line.message}`);
  }

  /** True once the service's `/readyz` answers 200; false when aborted or the service died first. */
  async #waitForReady(signal: AbortSignal): Promise<boolean> {
    const timeoutMs = this.#o.readyTimeoutMs ?? 180_000;
    const deadline = Date.now() + timeoutMs;
    const stop = AbortSignal.any([signal, this.#serviceGone.signal]);
    const url = `http://${HTTP_HOST}:${this.#o.httpPort}/readyz`;
    while (!stop.aborted) {
      if (await answersReady(url, stop)) return true;
      if (Date.now() > deadline) {
        throw new DemoSetupError(
          `The service's ${url} did not answer 200 within ${Math.round(timeoutMs / 1000)} s; see ${this.#o.logFile}`,
        );
      }
      await sleep(100, stop);
    }
    return false;
  }
}

/** One GET of `/readyz`: true on 200; false while the service does not listen yet or Redis is down. */
async function answersReady(url: string, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}
