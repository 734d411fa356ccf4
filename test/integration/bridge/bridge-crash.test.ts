import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jobIdForPayloadId } from '../../../src/bridge/job-id.js';
import { processingListOf } from '../../../src/bridge/lossless-list-moves.js';
import { sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

const CLI = path.resolve('dist/bridge/cli.js');

interface Child {
  process: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function startChild(world: BridgeWorld, bridgeId: string): Child {
  const redis = sharedRedisConfig();
  const child = spawn(process.execPath, [CLI], {
    env: {
      ...process.env,
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      BRIDGE_QUEUES: world.name,
      BRIDGE_ID: bridgeId,
      BRIDGE_BATCH_SIZE: '25',
      BRIDGE_BLOCK_SECONDS: '1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output, exited };
}

describe('bridge: crash safety', () => {
  let world: BridgeWorld;
  let current: Child | undefined;
  afterEach(async () => {
    if (current && current.process.exitCode === null && current.process.signalCode === null) {
      current.process.kill('SIGKILL');
      await current.exited;
    }
    await world.cleanup();
  });

  it('turns every item into exactly one job across SIGKILLs at random moments', async () => {
    world = new BridgeWorld();
    const bridgeId = `crash-${world.name}`;
    const total = 5000;
    const items = Array.from({ length: total }, (_, n) => {
      switch (n % 4) {
        case 0:
          return { id: n, n };
        case 1:
          return { id: `pedido:${n}`, n };
        default:
          return { n, body: 'x'.repeat(n % 50) };
      }
    });
    await world.redis.rpush(world.queue.sourceList, ...items.map((item) => JSON.stringify(item)));

    let killsMidMove = 0;
    let seen = 0;
    for (let kill = 0; kill < 6; kill++) {
      current = startChild(world, bridgeId);
      const target = seen + 1 + Math.floor(Math.random() * 400);
      seen = await waitFor(
        async () => {
          const count = await world.jobCount();
          return count >= target ? count : 0;
        },
        { intervalMs: 5, what: `progress past ${target} jobs` },
      );
      current.process.kill('SIGKILL');
      await current.exited;
      if ((await world.redis.llen(world.queue.sourceList)) > 0) killsMidMove++;
    }
    expect(killsMidMove).toBeGreaterThanOrEqual(5);

    current = startChild(world, bridgeId);
    await waitFor(
      async () => (await world.jobCount()) >= total && (await world.redis.llen(world.queue.sourceList)) === 0,
      {
        what: 'every item bridged',
        timeoutMs: 60_000,
      },
    );
    await waitFor(async () => (await world.redis.llen(processingListOf(world.queue.sourceList, bridgeId))) === 0, {
      what: 'processing list empty',
    });
    current.process.kill('SIGTERM');
    expect(await current.exited).toBe(0);

    expect(await world.jobCount()).toBe(total);
    const ids = await world.waitingIdsOldestFirst();
    expect(new Set(ids).size).toBe(total);
    const jobs = await Promise.all(ids.map((id) => world.bull.getJob(id)));
    // Exactly one job per item, still in FIFO order after the restarts.
    expect(jobs.map((job) => job?.data as unknown)).toEqual(items);
    jobs.forEach((job, n) => {
      const item = items[n] as { id?: string | number };
      if (item.id !== undefined) expect(job?.id).toBe(jobIdForPayloadId(item.id));
    });
    expect(await world.redis.llen(world.queue.invalidList)).toBe(0);
  });
});
