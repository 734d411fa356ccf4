/**
 * The least-privilege ACL of the README, for real: a redis-server started here, a user created
 * with exactly `aclRules(...)`, and the whole echo flow run as that user by `node dist/main.js`
 * (bridge, invalid items, duplicates, jobs, result entries, an expired item, scaler decisions,
 * heartbeat, nudges, stalled checks, the dashboard, /api/status, Bull Board) and the items CLI.
 * Any command the ACL refused fails the test through the server's `ACL LOG`, swallowed or not.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { aclRules, aclScopeOf } from '../../../src/redis/acl.js';
import { freePort, uniqueName } from '../../helpers/redis.js';
import { RedisServer } from '../../helpers/redis-servers.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

const USER = 'rpa';
const PASSWORD = 'acl-senha-1';
const ITEMS = 40;

describe('the README ACL line: the whole echo flow as a least-privilege user', () => {
  const dir = tempDir('acl');
  const q = uniqueName('acl');
  const prefix = uniqueName('px');
  const resultList = `${q}-resultados`; // outside fila:*, so the rules name it
  const configFile = path.join(dir, 'config.json');
  let server: RedisServer;
  let admin: Redis;
  let rules: string;
  let env: Record<string, string>;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis({ port: server.port, maxRetriesPerRequest: 1 });
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        queues: { [q]: { flow: 'echo', resultList, maxWorkers: 3 } },
        scaler: { intervalSeconds: 1, jobsPerWorker: 10, stabilizationSeconds: 1, stalledIntervalMs: 1000 },
        jobs: { lockSeconds: 5 },
        alerts: { evaluateSeconds: 1, rules: [{ name: 'fila', kind: 'backlogAbove', threshold: 1 }] },
      }),
    );
    env = {
      CONFIG_FILE: configFile,
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(server.port),
      REDIS_PREFIX: prefix,
      REDIS_USERNAME: USER,
      REDIS_PASSWORD: PASSWORD,
      LOG_FILE: '',
      LOG_LEVEL: 'debug',
      INSTANCE_ID: q,
      BRIDGE_ID: q,
    };
    rules = aclRules(aclScopeOf(loadConfig({ env: { NODE_ENV: 'test', ...env } })));
    await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, ...rules.split(' '));
  });

  afterAll(async () => {
    for (const s of services) await s.stop('SIGKILL');
    admin?.disconnect();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the rules are least privilege: other keys and admin commands are refused', async () => {
    expect(rules).toContain(`~${prefix}:* ~${resultList} ~${resultList}:* ~fila:* resetchannels &${prefix}:*`);
    const user = new Redis({ port: server.port, username: USER, password: PASSWORD, maxRetriesPerRequest: 0 });
    try {
      await expect(user.set('bull:someone-else', '1')).rejects.toThrow(/NOPERM/);
      await expect(user.call('FLUSHDB')).rejects.toThrow(/NOPERM/);
      await expect(user.call('CONFIG', 'GET', 'maxmemory')).rejects.toThrow(/NOPERM/);
      expect(await user.set(`${prefix}:probe`, '1')).toBe('OK');
      await user.del(`${prefix}:probe`);
    } finally {
      user.disconnect();
    }
    expect((await admin.call('ACL', 'LOG')) as unknown[]).toHaveLength(3);
    await admin.call('ACL', 'LOG', 'RESET');
  });

  it('runs bridge → jobs → result entries, scaler, heartbeat, nudges, status and Bull Board with an empty ACL LOG', async () => {
    const httpPort = await freePort();
    const service = new ServiceProcess({ ...env, HTTP_PORT: String(httpPort) });
    services.push(service);
    await service.waitForLine(/serviço pronto/);
    const url = `http://127.0.0.1:${httpPort}`;

    const past = new Date(Date.now() - 60_000).toISOString();
    const items = [
      ...Array.from({ length: ITEMS }, (_, i) =>
        JSON.stringify({ id: `acl-${i}`, n: i, ...(i % 5 === 0 ? { prioridade: 'alta' } : {}) }),
      ),
      'not json', // → the invalid list
      JSON.stringify({ id: 'acl-late', prazo: past, executarApos: new Date(Date.now() - 120_000).toISOString() }),
    ];
    await admin.rpush(`fila:${q}`, ...items);
    const results = await waitFor(
      async () => ((await admin.llen(resultList)) >= ITEMS + 1 ? admin.lrange(resultList, 0, -1) : undefined),
      { timeoutMs: 45_000, what: `${ITEMS + 1} result entries` },
    ).catch(async (err: unknown) => {
      const log = JSON.stringify(await admin.call('ACL', 'LOG'));
      throw new Error(`${String(err)}\nACL LOG: ${log}\n${service.lines.slice(-40).join('\n')}`);
    });
    const byId = new Map(results.map((r) => JSON.parse(r) as { id: string; status: string }).map((e) => [e.id, e]));
    expect(byId.size).toBe(ITEMS + 1);
    expect(byId.get('acl-late')?.status).toBe('expired');
    expect(byId.get('acl-7')?.status).toBe('ok');
    expect(await admin.llen(`fila:${q}:invalid`)).toBe(1);

    // A duplicate id of a retained job: counted, not run again.
    await admin.rpush(`fila:${q}`, JSON.stringify({ id: 'acl-3' }));
    await service.waitForLine(/id duplicado "acl-3"/);

    // What operators read, all through the service's (ACL user's) connections.
    type Status = {
      redis: string;
      instances: { id: string }[];
      recentDecisions: unknown[];
      queues: { name: string; completed: number }[];
    };
    // The last job completes in BullMQ just after its entry lands.
    const status = await waitFor(
      async () => {
        const s = (await (await fetch(`${url}/api/status`)).json()) as Status;
        return s.queues.find((x) => x.name === q)?.completed === ITEMS + 1 ? s : undefined;
      },
      { what: `${ITEMS + 1} completed jobs in /api/status` },
    );
    expect(status.redis).toBe('up');
    expect(status.instances.map((i) => i.id)).toEqual([q]);
    expect(status.recentDecisions.length).toBeGreaterThan(0);
    expect(status.queues.find((x) => x.name === q)?.completed).toBe(ITEMS + 1);
    for (const p of ['/', '/metrics', '/readyz', '/admin/queues', '/admin/queues/api/redis/stats']) {
      expect((await fetch(url + p)).status, p).toBe(200);
    }
    const board = (await (await fetch(`${url}/admin/queues/api/queues`)).json()) as { queues: { name: string }[] };
    expect(board.queues.map((x) => x.name)).toContain(q);
    expect(await admin.xlen(`${prefix}:rpa:decisions`)).toBeGreaterThan(0);
    expect(await admin.llen(`${prefix}:rpa:job-ms:${q}`)).toBeGreaterThan(0);

    // The operator CLI, as the same user.
    const items_ = spawnSync(process.execPath, ['dist/items/cli.js', 'count', q], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env },
      encoding: 'utf8',
    });
    expect(items_.status, items_.stderr).toBe(0);
    expect(items_.stdout).toContain('not-json');

    expect((await service.stop('SIGTERM')).code).toBe(0);
    const denied = (await admin.call('ACL', 'LOG')) as unknown[];
    expect(denied, JSON.stringify(denied)).toEqual([]);
    expect(service.output()).not.toMatch(/NOPERM/);
  });

  it('a wrong password: one line naming the user, exit 78', async () => {
    const wrong = new ServiceProcess({ ...env, REDIS_PASSWORD: 'errada', HTTP_PORT: String(await freePort()) });
    services.push(wrong);
    expect((await wrong.exited).code).toBe(78);
    const lines = wrong.lines.filter((l) => /Redis recusou o usuário/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Redis recusou o usuário 'rpa' em 127\.0\.0\.1:\d+ \(WRONGPASS/);
    expect(wrong.output()).not.toContain('errada');
  });
});
