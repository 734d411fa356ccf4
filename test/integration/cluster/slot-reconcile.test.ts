/**
 * Unit slots reconciled on every heartbeat (issue 22): the slots Redis counts for an instance equal
 * its open units. A slot whose release failed (Redis away for longer than the command's retries,
 * shorter than the fence threshold) comes back within one beat, and the pool reaches its caps
 * again. Real Redis and real heartbeats; the units are fakes (no browser), the failure is injected
 * through the `UnitSlots` the pool is given.
 */
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import { InstanceHeartbeat } from '../../../src/cluster/instance-heartbeat.js';
import type { PoolCaps } from '../../../src/cluster/pool-caps.js';
import { PoolMembership, type InstanceOwner } from '../../../src/cluster/pool-membership.js';
import { WorkerPool, type PoolUnit, type UnitSlots } from '../../../src/pool/worker-pool.js';
import type { UnitState } from '../../../src/workers/unit-state.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const logger = winston.createLogger({ silent: true });

/** A unit that is ready at once and closes as soon as it is retired (an idle worker). */
class IdleUnit extends EventEmitter<{ state: [to: UnitState, from: UnitState] }> implements PoolUnit {
  state: UnitState = 'starting';
  constructor(readonly name: string) {
    super();
  }
  start(): Promise<void> {
    this.#set('ready');
    return Promise.resolve();
  }
  retire(): Promise<void> {
    if (this.state !== 'closed') {
      this.#set('draining');
      this.#set('closed');
    }
    return Promise.resolve();
  }
  forceClose(): Promise<void> {
    return this.retire();
  }
  #set(state: UnitState): void {
    const from = this.state;
    this.state = state;
    this.emit('state', state, from);
  }
}

describe('unit slots reconciled on every heartbeat', () => {
  const prefix = uniqueName('reconcile');
  const queue = uniqueName('q');
  const caps: PoolCaps = { maxTotalWorkers: 2, maxWorkers: { [queue]: 2 } };
  let redis: Redis;
  let membership: PoolMembership;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    const c = sharedRedisConfig();
    redis = new Redis({ host: c.host, port: c.port });
    membership = new PoolMembership({ redis, prefix, queues: [queue], ttlMs: 60_000 });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  /** One instance: its pool under real slots, its heartbeat (beating only when the test says). */
  async function instance(id: string, failingReleases: number) {
    const owner: InstanceOwner = { id, host: 'test', pid: process.pid, startedAt: Date.now() };
    let failures = failingReleases;
    const slots: UnitSlots = {
      claim: (q) => membership.claimSlot(owner, q),
      // Redis away when the unit closed: the release never reaches it.
      release: (q, n) =>
        failures-- > 0 ? Promise.reject(new Error('Connection is closed.')) : membership.releaseSlot(owner, q, n),
    };
    const pool = new WorkerPool({
      maxWorkersByQueue: caps.maxWorkers,
      maxTotalWorkers: caps.maxTotalWorkers,
      logger,
      slots,
      startRetryMs: 50,
      createUnit: (q, n) => new IdleUnit(`Worker-${q}-${n}`),
    });
    const heartbeat = new InstanceHeartbeat({
      membership,
      owner,
      version: 'test',
      capacity: () => 2,
      units: () => ({ [queue]: pool.counts(queue).live }),
      slots: () => pool.slotsHeld(),
      caps: () => caps,
      intervalMs: 600_000, // the test beats by hand: "within one beat" is exactly one call
      logger,
    });
    await heartbeat.start();
    closers.push(async () => {
      await pool.close({ graceMs: 0 });
      await heartbeat.close();
    });
    return { pool, heartbeat };
  }

  const slotsOf = async (id: string): Promise<number> =>
    (await membership.snapshot()).instances.find((i) => i.id === id)?.slots[queue] ?? 0;

  it('gives back a slot whose release failed within one beat; the pool reaches its caps again', async () => {
    const a = await instance('maq-a', 1);
    const b = await instance('maq-b', 0);
    a.pool.setTarget(queue, 2);
    await waitFor(async () => (await slotsOf('maq-a')) === 2 && a.pool.counts(queue).ready === 2, {
      what: 'maq-a running 2 units under 2 slots',
    });
    // One unit retires; its slot's release fails: Redis still counts it for maq-a.
    a.pool.setTarget(queue, 1);
    await waitFor(() => a.pool.counts(queue).counted === 1, { what: 'one unit closed' });
    expect(await slotsOf('maq-a')).toBe(2);
    // maq-b wants a unit; the pool is at its caps in Redis while the slot leaks.
    b.pool.setTarget(queue, 1);
    expect(b.pool.counts(queue).live).toBe(0);

    await a.heartbeat.beat();
    expect(await slotsOf('maq-a')).toBe(1); // equal to its open units

    await waitFor(() => b.pool.counts(queue).ready === 1, { what: 'maq-b starting its unit in the freed slot' });
    const snap = await membership.snapshot();
    expect(snap.instances.map((i) => [i.id, i.slots[queue] ?? 0])).toEqual([
      ['maq-a', 1],
      ['maq-b', 1],
    ]);
    expect(a.pool.counts(queue).counted + b.pool.counts(queue).counted).toBe(caps.maxTotalWorkers);
  });
});
