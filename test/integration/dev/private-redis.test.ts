import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareDevEnvironment, type DevEnvironment } from '../../../src/dev/dev-environment.js';
import { MissingBinaryError } from '../../../src/dev/prerequisites.js';
import { redisAnswers, startPrivateRedis, type PrivateRedis } from '../../../src/dev/private-redis.js';
import { listProcesses } from '../../../src/workers/process-tree.js';
import { freePort, sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const shared = sharedRedisConfig();

/** redis-server processes listening on `port` (its title is `redis-server 127.0.0.1:<port>`). */
function serversOn(port: number): number[] {
  return listProcesses()
    .filter((p) => /redis-server/.test(p.cmdline) && p.cmdline.includes(`:${port}`))
    .map((p) => p.pid);
}

async function gone(redis: { port: number; dir: string }): Promise<void> {
  await waitFor(() => serversOn(redis.port).length === 0 && !fs.existsSync(redis.dir), {
    timeoutMs: 20_000,
    what: `redis-server on ${redis.port} stopped and ${redis.dir} removed`,
  });
  expect(await redisAnswers('127.0.0.1', redis.port, 1000)).toBe(false);
}

describe('private redis-server (src/dev/private-redis.ts)', () => {
  const started: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
  });

  it('answers on a spare loopback port with no persistence and the configured password; stop() leaves nothing', async () => {
    const redis: PrivateRedis = await startPrivateRedis({ password: 'sen ha"1' });
    started.push(redis);
    expect(redis.host).toBe('127.0.0.1');
    expect(redis.port).not.toBe(shared.port);
    expect(fs.existsSync(path.join(redis.dir, 'redis.conf'))).toBe(true);
    expect(serversOn(redis.port)).toHaveLength(1);

    const client = new Redis({ port: redis.port, password: 'sen ha"1', lazyConnect: true });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', fs.realpathSync(redis.dir)]);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    } finally {
      client.disconnect();
    }

    await redis.stop();
    await redis.stop(); // twice is fine
    expect(fs.existsSync(redis.dir)).toBe(false);
    await gone(redis);
  });

  it('is stopped and its folder removed when the process that started it is killed (SIGKILL)', async () => {
    const owner = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { startPrivateRedis } from './dist/dev/private-redis.js';
         const r = await startPrivateRedis();
         console.log(JSON.stringify({ port: r.port, dir: r.dir }));
         setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    owner.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    try {
      const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), {
        timeoutMs: 60_000,
        what: 'the owner to print its private Redis',
      });
      const redis = JSON.parse(line) as { port: number; dir: string };
      expect(await redisAnswers('127.0.0.1', redis.port)).toBe(true);
      owner.kill('SIGKILL');
      await exited;
      await gone(redis);
    } finally {
      owner.kill('SIGKILL');
    }
  });
});

describe('prepareDevEnvironment', () => {
  const envs: DevEnvironment[] = [];
  afterEach(async () => {
    for (const e of envs.splice(0)) await e.close();
  });
  const say = (lines: string[]) => (line: string) => lines.push(line);

  it('changes nothing when Redis answers', async () => {
    const env: NodeJS.ProcessEnv = { REDIS_HOST: shared.host, REDIS_PORT: String(shared.port), PATH: '/nonexistent' };
    const lines: string[] = [];
    const dev = await prepareDevEnvironment({ purpose: 'npm test', say: say(lines), env, needsChromium: false });
    envs.push(dev);
    expect(dev.privateRedis).toBeUndefined();
    expect(env).toEqual({ REDIS_HOST: shared.host, REDIS_PORT: String(shared.port), PATH: '/nonexistent' });
    expect(lines).toEqual([]);
  });

  it('starts a private Redis when none answers at a loopback address, points the env at it, says so once', async () => {
    const closed = await freePort();
    const env: NodeJS.ProcessEnv = { REDIS_HOST: 'localhost', REDIS_PORT: String(closed), PATH: process.env.PATH };
    const lines: string[] = [];
    const dev = await prepareDevEnvironment({ purpose: 'npm test', say: say(lines), env, needsChromium: false });
    envs.push(dev);
    const redis = dev.privateRedis as PrivateRedis;
    expect(redis).toBeDefined();
    expect(env.REDIS_HOST).toBe('127.0.0.1');
    expect(env.REDIS_PORT).toBe(String(redis.port));
    expect(lines).toEqual([
      `No Redis answers at localhost:${closed}: started a private one for npm test on 127.0.0.1:${redis.port} ` +
        `(no persistence, folder ${redis.dir}, removed on exit)`,
    ]);
    expect(await redisAnswers('127.0.0.1', redis.port)).toBe(true);
    await dev.close();
    await gone(redis);
  });

  it('never starts one for a Redis on another machine', async () => {
    const env: NodeJS.ProcessEnv = { REDIS_HOST: '192.0.2.1', REDIS_PORT: '6379', PATH: process.env.PATH };
    const dev = await prepareDevEnvironment({ purpose: 'npm test', say: () => undefined, env, needsChromium: false });
    envs.push(dev);
    expect(dev.privateRedis).toBeUndefined();
    expect(env.REDIS_HOST).toBe('192.0.2.1');
  });

  it('without redis-server on PATH: a MissingBinaryError naming it and how to install it', async () => {
    const closed = await freePort();
    const env: NodeJS.ProcessEnv = { REDIS_PORT: String(closed), PATH: '/nonexistent' };
    const err = await prepareDevEnvironment({
      purpose: 'npm test',
      say: () => undefined,
      env,
      needsChromium: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingBinaryError);
    expect((err as Error).message).toBe(
      `npm test needs redis-server (no Redis answers at 127.0.0.1:${closed} and none is on PATH). ` +
        'Install: sudo apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS); ' +
        'or use docker compose --profile demo up',
    );
    expect(env.REDIS_PORT).toBe(String(closed));
  });
});
