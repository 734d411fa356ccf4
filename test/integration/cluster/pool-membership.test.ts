import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolCaps } from '../../../src/cluster/pool-caps.js';
import {
  PoolMembership,
  type InstanceOwner,
  type InstanceRecord,
  type MembershipAnswer,
} from '../../../src/cluster/pool-membership.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const owner = (id: string, pid = 1): InstanceOwner => ({ id, host: 'h', pid, startedAt: 1_700_000_000_123 });
const record = (o: InstanceOwner, units: Record<string, number> = {}): InstanceRecord => ({
  ...o,
  version: 'v',
  capacity: 10,
  units,
  beatAt: Date.now(),
});

function renewed(answer: MembershipAnswer): Extract<MembershipAnswer, { kind: 'renewed' }> {
  if (answer.kind !== 'renewed') throw new Error(`refused: ${JSON.stringify(answer)}`);
  return answer;
}

describe('PoolMembership (Redis)', () => {
  let redis: Redis;
  const queue = uniqueName('pm');
  const other = `${queue}-b`;
  const prefix = uniqueName('pmprefix');
  const caps = (perQueue: number, total: number): PoolCaps => ({
    maxTotalWorkers: total,
    maxWorkers: { [queue]: perQueue, [other]: perQueue },
  });

  beforeAll(() => {
    const c = sharedRedisConfig();
    redis = new Redis({ host: c.host, port: c.port });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  it('grants slots within the stored per-queue and total caps, whatever instances claim at once', async () => {
    const m = new PoolMembership({ redis, prefix, queues: [queue, other], ttlMs: 60_000 });
    const members = [owner('i0'), owner('i1'), owner('i2')];
    for (const o of members) renewed(await m.join(record(o), caps(10, 12)));
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => m.claimSlot(members[i % 3] as InstanceOwner, i % 2 ? other : queue)),
    );
    const granted = claims.filter((n) => n !== null);
    expect(granted).toHaveLength(12);
    // Numbers are unique per queue: they name the units (Worker-<queue>-<n>).
    const byQueue = claims.map((n, i) => (n === null ? null : `${i % 2 ? other : queue}|${n}`)).filter(Boolean);
    expect(new Set(byQueue).size).toBe(12);
    expect(await m.claimSlot(owner('i0'), queue)).toBeNull();
    await m.releaseSlot(owner('i9'), queue, 1); // not the holder: nothing freed
    expect(await m.claimSlot(owner('i0'), queue)).toBeNull();
    const holder = claims.findIndex((n, i) => n === 1 && i % 2 === 0);
    await m.releaseSlot(members[holder % 3] as InstanceOwner, queue, 1);
    expect(await m.claimSlot(owner('i0'), queue)).toBe(1);
    // A process that never joined gets no slot.
    await expect(m.claimSlot(owner('i7'), queue)).rejects.toThrow(/não registrada/);
    for (const o of members) await m.leave(o);
  });

  it('lists live instances with their slots; a silent one and its slots expire', async () => {
    const m = new PoolMembership({ redis, prefix: `${prefix}-2`, queues: [queue], ttlMs: 600 });
    const [a, b] = [owner('maq-a'), owner('maq-b')];
    renewed(await m.join(record(a, { [queue]: 1 }), caps(10, 20)));
    renewed(await m.join(record(b), caps(10, 20)));
    expect(await m.claimSlot(a, queue)).toBe(1);
    expect(await m.claimSlot(b, queue)).toBe(2);
    const snap = await m.snapshot();
    expect(snap.instances.map((i) => [i.id, i.slots[queue] ?? 0])).toEqual([
      ['maq-a', 1],
      ['maq-b', 1],
    ]);
    // maq-a keeps beating (its unit holds slot 1), maq-b falls silent.
    await waitFor(
      async () => {
        const answer = renewed(await m.beat(record(a), { held: [{ queue, n: 1 }], claiming: [] }, caps(10, 20)));
        expect(answer.held).toEqual([{ queue, n: 1 }]);
        const ids = (await m.snapshot()).instances.map((i) => i.id);
        return ids.length === 1 ? ids : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'maq-b expired' },
    );
    expect(await m.claimSlot(a, queue)).toBe(2); // maq-b's slot is free again
  });

  it('each beat renews exactly the slots handed to it and releases the rest (kept while a claim is under way)', async () => {
    const m = new PoolMembership({ redis, prefix: `${prefix}-3`, queues: [queue, other], ttlMs: 60_000 });
    const a = owner('maq-a');
    renewed(await m.join(record(a), caps(10, 20)));
    for (let i = 0; i < 3; i++) await m.claimSlot(a, queue);
    expect(await m.claimSlot(a, other)).toBe(1);
    // Its units hold queue|1 only; a claim of `other` is under way (its answer not seen yet).
    const answer = renewed(await m.beat(record(a), { held: [{ queue, n: 1 }], claiming: [other] }, caps(10, 20)));
    expect(answer.held.map((s) => `${s.queue}|${s.n}`).sort()).toEqual([`${other}|1`, `${queue}|1`].sort());
    expect(answer.released.map((s) => `${s.queue}|${s.n}`).sort()).toEqual([`${queue}|2`, `${queue}|3`]);
    // The claim was answered and given back meanwhile: the next beat frees its slot too.
    const next = renewed(await m.beat(record(a), { held: [{ queue, n: 1 }], claiming: [] }, caps(10, 20)));
    expect(next.released).toEqual([{ queue: other, n: 1 }]);
    const snap = await m.snapshot();
    expect(snap.instances[0]?.slots).toEqual({ [queue]: 1 });
    await m.leave(a);
  });

  it('keeps the caps of the first to join; the last to leave takes them with it', async () => {
    const m = new PoolMembership({ redis, prefix: `${prefix}-4`, queues: [queue, other], ttlMs: 60_000 });
    const [a, b] = [owner('maq-a'), owner('maq-b')];
    const first = renewed(await m.join(record(a), caps(2, 3)));
    expect(first.caps).toEqual(['maxTotalWorkers', '3', `maxWorkers:${queue}`, '2', `maxWorkers:${other}`, '2']);
    // maq-b asks for more: the pool keeps the stored caps, and its claims are held to them.
    const second = renewed(await m.join(record(b), caps(10, 20)));
    expect(second.caps).toEqual(first.caps);
    const claims = await Promise.all(Array.from({ length: 6 }, () => m.claimSlot(b, queue)));
    expect(claims.filter((n) => n !== null).sort()).toEqual([1, 2]);
    expect(await m.claimSlot(a, other)).toBe(1);
    expect(await m.claimSlot(b, other)).toBeNull(); // 3 in all
    await m.leave(a);
    expect(await redis.exists(m.capsKey)).toBe(1); // maq-b still runs
    await m.leave(b);
    expect(await redis.exists(m.capsKey)).toBe(0);
    const again = renewed(await m.join(record(b), caps(10, 20)));
    expect(again.caps).toContain('20');
    await m.leave(b);
  });

  it('refuses another set of queues on the same prefix while a pool is live there', async () => {
    const p = `${prefix}-5`;
    const m = new PoolMembership({ redis, prefix: p, queues: [queue, other], ttlMs: 60_000 });
    const wider = new PoolMembership({ redis, prefix: p, queues: [queue, other, 'extra'], ttlMs: 60_000 });
    renewed(await m.join(record(owner('maq-a')), caps(2, 3)));
    expect(await wider.join(record(owner('maq-b')), caps(2, 3))).toEqual({
      kind: 'other-pool',
      pool: [queue, other].sort().join('+'),
    });
    expect((await wider.snapshot()).instances).toEqual([]);
    await m.leave(owner('maq-a'));
    renewed(await wider.join(record(owner('maq-b')), caps(2, 3)));
    await wider.leave(owner('maq-b'));
  });

  it('one process per instance id: a live duplicate is refused; a taken-over id neither renews nor releases', async () => {
    const m = new PoolMembership({ redis, prefix: `${prefix}-6`, queues: [queue], ttlMs: 60_000 });
    const first = owner('maq-a', 100);
    const second = owner('maq-a', 200);
    renewed(await m.join(record(first), caps(10, 20)));
    expect(await m.claimSlot(first, queue)).toBe(1);
    const refused = await m.join(record(second), caps(10, 20));
    expect(refused).toMatchObject({ kind: 'duplicate', holder: { id: 'maq-a', host: 'h', pid: 100 } });
    // The first one's record lapsed (a partition) and the second took the id.
    await redis.del(`${prefix}-6:pool:${queue}:instance:maq-a`);
    renewed(await m.join(record(second), caps(10, 20))); // gives back the slot the id held
    expect(await m.claimSlot(second, queue)).toBe(1);
    // The first one comes back: its beat, release and claims change nothing of the second's.
    const beat = await m.beat(record(first), { held: [{ queue, n: 1 }], claiming: [] }, caps(10, 20));
    expect(beat).toMatchObject({ kind: 'duplicate', holder: { pid: 200 } });
    await m.releaseSlot(first, queue, 1);
    await expect(m.claimSlot(first, queue)).rejects.toThrow(/não registrada/);
    const snap = await m.snapshot();
    expect(snap.instances.map((i) => [i.id, i.pid, i.slots[queue]])).toEqual([['maq-a', 200, 1]]);
    await m.leave(first); // not its record: nothing happens
    expect((await m.snapshot()).instances).toHaveLength(1);
    await m.leave(second);
    expect((await m.snapshot()).instances).toHaveLength(0);
  });
});
