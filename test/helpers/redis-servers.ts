/**
 * Special Redis servers a test starts for itself on spare ports: TLS (with a CA made by openssl
 * in the test), ACL users, a master with replicas and sentinels. Each is a child process the test
 * stops; nothing is left behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis.js';
import { waitFor } from './wait.js';

/** A redis-server (or sentinel) child process started with `args`; its log lines kept. */
export class RedisServer {
  readonly lines: string[] = [];
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly args: readonly string[],
    /** Its working folder (a replica's synced RDB lands there), removed by {@link stop}. */
    readonly dir: string,
  ) {}

  /**
   * Starts `redis-server <args>` (the port, loopback bind and no persistence are added unless
   * `args` starts with a config file) and waits for "Ready to accept connections" (a sentinel:
   * "Sentinel ID is").
   */
  static async start(options: { port?: number; args?: readonly string[]; sentinelConfig?: string } = {}) {
    const port = options.port ?? (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-server-'));
    const args = options.sentinelConfig
      ? [options.sentinelConfig, '--sentinel', '--port', String(port), '--bind', '127.0.0.1']
      : ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    args.push(...(options.sentinelConfig ? [] : (options.args ?? [])));
    const server = new RedisServer(port, args, dir);
    await server.#spawn(options.sentinelConfig ? /Sentinel ID is/ : /Ready to accept connections/);
    return server;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  output(): string {
    return this.lines.join('\n');
  }

  async #spawn(ready: RegExp): Promise<void> {
    const child = spawn('redis-server', [...this.args], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.lines.push(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`redis-server ${this.args.join(' ')} exited:\n${this.output()}`);
        return this.lines.some((l) => ready.test(l));
      },
      { timeoutMs: 20_000, what: `redis-server on port ${this.port}` },
    );
  }

  /** Kills it (SIGKILL by default: a crash) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** PEM files of a test CA, a server certificate it signed (127.0.0.1, localhost), a client one, and an unrelated CA. */
export interface TestCertificates {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed nothing here: "the wrong CA". */
  readonly otherCaCert: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', [...args], { cwd, stdio: 'pipe' });
}

/** Makes the certificates with openssl (EC P-256 keys: fast), in `dir`. */
export function makeCertificates(dir: string): TestCertificates {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string): void =>
    openssl(
      [
        'req',
        '-x509',
        '-new',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      ],
      dir,
    );
  ca('test-ca');
  ca('other-ca');
  const signed = (name: string, ext: string): void => {
    openssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'test-ca.crt',
        '-CAkey',
        'test-ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  signed('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed('client', 'extendedKeyUsage=clientAuth\n');
  const at = (f: string): string => path.join(dir, f);
  return {
    caCert: at('test-ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    otherCaCert: at('other-ca.crt'),
  };
}

/** redis-server arguments for TLS only (no plain port) with `certs`; `clients`: whether a client certificate is asked for. */
export function tlsServerArgs(certs: TestCertificates, clients: 'no' | 'optional' | 'yes'): string[] {
  return [
    '--tls-cert-file',
    certs.serverCert,
    '--tls-key-file',
    certs.serverKey,
    '--tls-ca-cert-file',
    certs.caCert,
    '--tls-auth-clients',
    clients,
  ];
}

/**
 * 1 master, `replicas` replicas and 3 sentinels (quorum 2) on spare ports, as production runs
 * Sentinel; failover starts 1 s after the master stops answering. `start()` returns once the
 * sentinels know the replicas and each other and every replica is in sync, so a failover can
 * happen at once.
 */
export class SentinelGroup {
  static readonly NAME = 'mymaster';

  private constructor(
    readonly master: RedisServer,
    readonly replicas: readonly RedisServer[],
    readonly sentinels: readonly RedisServer[],
  ) {}

  static async start(dir: string, options: { replicas?: number; downAfterMs?: number } = {}): Promise<SentinelGroup> {
    const master = await RedisServer.start();
    const replicas: RedisServer[] = [];
    const sentinels: RedisServer[] = [];
    try {
      for (let i = 0; i < (options.replicas ?? 1); i++) {
        replicas.push(await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] }));
      }
      for (let i = 0; i < 3; i++) {
        const file = path.join(dir, `sentinel-${i}.conf`);
        fs.writeFileSync(
          file,
          [
            `dir ${dir}`,
            `sentinel monitor ${SentinelGroup.NAME} 127.0.0.1 ${master.port} 2`,
            `sentinel down-after-milliseconds ${SentinelGroup.NAME} ${options.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${SentinelGroup.NAME} 10000`,
            `sentinel parallel-syncs ${SentinelGroup.NAME} 1`,
            '',
          ].join('\n'),
        );
        sentinels.push(await RedisServer.start({ sentinelConfig: file }));
      }
      const group = new SentinelGroup(master, replicas, sentinels);
      await group.#settled(replicas.length);
      return group;
    } catch (err) {
      for (const s of [...sentinels, ...replicas, master]) await s.stop();
      throw err;
    }
  }

  /** `host:port,...` of the sentinels (REDIS_SENTINELS). */
  get addresses(): string {
    return this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
  }

  async #settled(replicaCount: number): Promise<void> {
    const clients = this.sentinels.map((s) => new Redis({ port: s.port, lazyConnect: false }));
    const replicas = this.replicas.map((r) => new Redis({ port: r.port, lazyConnect: false }));
    try {
      await waitFor(
        async () => {
          for (const c of clients) {
            const known = (await c.call('SENTINEL', 'REPLICAS', SentinelGroup.NAME)) as unknown[];
            const peers = (await c.call('SENTINEL', 'SENTINELS', SentinelGroup.NAME)) as unknown[];
            if (known.length < replicaCount || peers.length < 2) return false;
          }
          for (const r of replicas) {
            if (!/master_link_status:up/.test(await r.info('replication'))) return false;
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'sentinels knowing the replicas and each other' },
      );
    } finally {
      for (const c of [...clients, ...replicas]) c.disconnect();
    }
  }

  /** The port of the master the sentinels name now. */
  async masterPort(): Promise<number> {
    const client = new Redis({ port: this.sentinels[0]?.port ?? 0 });
    try {
      const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SentinelGroup.NAME)) as string[];
      return Number(port);
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    for (const s of [...this.sentinels, ...this.replicas, this.master]) await s.stop();
  }
}
