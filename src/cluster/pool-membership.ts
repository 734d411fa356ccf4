/**
 * What the instances sharing one Redis know of each other, and the unit slots that keep the caps
 * across all of them. Every step is one Lua script, so Redis's own clock (`TIME`) and atomicity
 * decide; no instance trusts its own clock or a read-then-write.
 *
 * Keys, under `<prefix>:pool:<pool>` (the pool is named by the queues it serves, so instances
 * configured alike form one pool and tests on a shared Redis never meet):
 * - `:instances` ZSET id → expiry (ms), `:instance:<id>` the last heartbeat's JSON (PX expiry);
 * - `:slots` ZSET `<queue>|<n>` → expiry (ms), `:slot-holders` HASH `<queue>|<n>` → instance id.
 *
 * Guarantees:
 * - An instance is live while its heartbeat is younger than its expiry (3 beats); a dead one
 *   disappears from {@link PoolMembership.snapshot} without anyone cleaning up after it.
 * - A unit runs only under a slot: {@link PoolMembership.claimSlot} grants slot `n` of a queue
 *   only when fewer than `maxTotal` slots are held in all and `n <= maxPerQueue`, so the number of
 *   units never passes either cap, whatever the instances do at the same time. `n` is also the
 *   unit's number: `Worker-<queue>-<n>` is unique across instances.
 * - Slots live as long as their instance's heartbeat renews them: a dead instance's slots expire
 *   with it and their room goes to the live ones.
 */
import type { Redis } from 'ioredis';
import {
  BEAT_SCRIPT,
  CLAIM_SCRIPT,
  RELEASE_SCRIPT,
  ORPHANS_SCRIPT,
  FORGET_SCRIPT,
  HOLD_SCRIPT,
  RELEASE_LEASE_SCRIPT,
  SNAPSHOT_SCRIPT,
} from './pool-membership-scripts.js';

/** What an instance publishes every heartbeat. */
export interface InstanceRecord {
  readonly id: string;
  /** Its bridge's id (owner of `<sourceList>:processing:<bridgeId>`); taken over when it dies. */
  readonly bridgeId?: string;
  readonly host: string;
  readonly version: string;
  readonly pid: number;
  /** Most units it may run. */
  readonly capacity: number;
  /** Live units per queue (starting, ready, busy). */
  readonly units: Readonly<Record<string, number>>;
  /** Wall-clock time of the beat, as the instance saw it (ms). */
  readonly beatAt: number;
  readonly startedAt: number;
}

/** A live instance and the slots it holds. */
export interface LiveInstance extends InstanceRecord {
  /** Slots held per queue: what the caps count (a draining unit still holds its slot). */
  readonly slots: Readonly<Record<string, number>>;
}

export interface PoolSnapshot {
  /** Redis time of the snapshot (ms). */
  readonly at: number;
  /** Live instances, in id order. */
  readonly instances: readonly LiveInstance[];
}

export interface PoolMembershipOptions {
  readonly redis: Redis;
  /** BullMQ key prefix. */
  readonly prefix: string;
  /** The queues this instance serves; they name the pool. */
  readonly queues: readonly string[];
  /** Heartbeats and slots expire this long after their last renewal. */
  readonly ttlMs: number;
}

/** The pool's name: its queues, sorted (instances configured alike share one pool). */
export function poolName(queues: readonly string[]): string {
  return [...queues].sort().join('+');
}

/** The registry of instances and the semaphore of unit slots (see the module comment). */
export class PoolMembership {
  readonly #redis: Redis;
  readonly #ttlMs: number;
  readonly #keys: {
    instances: string;
    slots: string;
    holders: string;
    record: string;
    bridges: string;
    adopt: string;
    lease: string;
    nudges: string;
  };

  constructor(options: PoolMembershipOptions) {
    this.#redis = options.redis;
    this.#ttlMs = options.ttlMs;
    const base = `${options.prefix}:pool:${poolName(options.queues)}`;
    this.#keys = {
      instances: `${base}:instances`,
      slots: `${base}:slots`,
      holders: `${base}:slot-holders`,
      record: `${base}:instance:`,
      bridges: `${base}:bridges`,
      adopt: `${base}:adopting:`,
      lease: `${base}:list-lease:`,
      nudges: `${base}:nudges`,
    };
  }

  /** Publishes the record and renews this instance's slots; returns the slots it still holds. */
  async beat(record: InstanceRecord): Promise<{ queue: string; n: number }[]> {
    const k = this.#keys;
    const held = (await this.#redis.eval(
      BEAT_SCRIPT,
      5,
      k.instances,
      k.slots,
      k.holders,
      k.record + record.id,
      k.bridges,
      record.id,
      JSON.stringify(record),
      this.#ttlMs,
      record.bridgeId ?? '',
    )) as string[];
    return held.map(parseSlot);
  }

  /** Takes the lowest free slot of `queue` within both caps; null when none is free. */
  async claimSlot(id: string, queue: string, maxPerQueue: number, maxTotal: number): Promise<number | null> {
    const k = this.#keys;
    const n = (await this.#redis.eval(
      CLAIM_SCRIPT,
      3,
      k.instances,
      k.slots,
      k.holders,
      id,
      queue,
      maxPerQueue,
      maxTotal,
      this.#ttlMs,
    )) as number;
    return n > 0 ? n : null;
  }

  /**
   * Bridge ids whose instance is dead: their processing lists may hold a batch taken from a source
   * list and not yet bridged. Only bridges of pool instances are listed (a standalone bridge CLI
   * never registers, so its lists are never taken over).
   */
  async orphanedBridges(): Promise<string[]> {
    const k = this.#keys;
    return (await this.#redis.eval(ORPHANS_SCRIPT, 4, k.instances, k.slots, k.holders, k.bridges)) as string[];
  }

  /** One instance at a time takes over a dead bridge's lists: true for the one that got it. */
  async claimOrphan(bridgeId: string, by: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#keys.adopt + bridgeId, by, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Its lists are empty: forget the dead bridge (kept if its instance came back meanwhile). */
  async forgetBridge(bridgeId: string): Promise<void> {
    const k = this.#keys;
    await this.#redis.eval(FORGET_SCRIPT, 4, k.instances, k.slots, k.holders, k.bridges, bridgeId);
  }

  /**
   * One bridge per source list at a time: takes the list's lease if free, renews it if `holder`
   * has it. It expires `ttlMs` after the last renewal (its holder died): then another takes it.
   */
  async holdListLease(sourceList: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.eval(HOLD_SCRIPT, 1, this.#keys.lease + sourceList, holder, ttlMs)) === 1;
  }

  async releaseListLease(sourceList: string, holder: string): Promise<void> {
    await this.#redis.eval(RELEASE_LEASE_SCRIPT, 1, this.#keys.lease + sourceList, holder);
  }

  /**
   * Tells the other instances to evaluate now (new items bridged, or units assigned to them): only
   * the lease holder's bridge sees a burst, and every instance must start its share within ~1 s.
   */
  async nudgeOthers(from: string): Promise<void> {
    await this.#redis.publish(this.#keys.nudges, from);
  }

  /** Calls `onNudge` for every nudge from another instance; `subscriber` is a connection of its own. */
  async listenForNudges(subscriber: Redis, self: string, onNudge: () => void): Promise<void> {
    subscriber.on('message', (channel: string, from: string) => {
      if (channel === this.#keys.nudges && from !== self) onNudge();
    });
    await subscriber.subscribe(this.#keys.nudges);
  }

  /** Leaves the pool at shutdown (the others need not wait for the expiry); slots go as units close. */
  async leave(id: string): Promise<void> {
    await this.#redis
      .multi()
      .zrem(this.#keys.instances, id)
      .del(this.#keys.record + id)
      .exec();
  }

  /** Frees slot `n` of `queue` if `id` holds it. */
  async releaseSlot(id: string, queue: string, n: number): Promise<void> {
    await this.#redis.eval(RELEASE_SCRIPT, 2, this.#keys.slots, this.#keys.holders, id, `${queue}|${n}`);
  }

  /** Live instances with their last records and held slots. */
  async snapshot(): Promise<PoolSnapshot> {
    const k = this.#keys;
    const [at, ids, records, holders] = (await this.#redis.eval(
      SNAPSHOT_SCRIPT,
      3,
      k.instances,
      k.slots,
      k.holders,
      k.record,
    )) as [number, string[], string[], string[]];
    const slots = new Map<string, Record<string, number>>();
    for (let i = 0; i + 1 < holders.length; i += 2) {
      const { queue } = parseSlot(holders[i] ?? '');
      const owner = holders[i + 1] ?? '';
      const bag = slots.get(owner) ?? {};
      bag[queue] = (bag[queue] ?? 0) + 1;
      slots.set(owner, bag);
    }
    const instances: LiveInstance[] = [];
    ids.forEach((id, i) => {
      const raw = records[i];
      if (!raw) return;
      const record = JSON.parse(raw) as InstanceRecord;
      instances.push({ ...record, id, slots: slots.get(id) ?? {} });
    });
    instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { at, instances };
  }
}

function parseSlot(slot: string): { queue: string; n: number } {
  const at = slot.lastIndexOf('|');
  return { queue: slot.slice(0, at), n: Number(slot.slice(at + 1)) };
}
