/**
 * What the instances sharing one Redis know of each other, and the unit slots that keep the caps
 * across all of them. Every step is one Lua script, so Redis's own clock (`TIME`) and atomicity
 * decide; no instance trusts its own clock or a read-then-write.
 *
 * Keys, under `<prefix>:pool:<pool>` (the pool is named by the queues it serves, so instances
 * configured alike form one pool and tests on a shared Redis never meet):
 * - `:instances` ZSET id → expiry (ms), `:instance:<id>` the last heartbeat's JSON (PX expiry);
 * - `:slots` ZSET `<queue>|<n>` → expiry (ms), `:slot-holders` HASH `<queue>|<n>` → instance id;
 * - `:config` HASH, the pool's caps (pool-caps.ts), PX expiry renewed by every beat;
 * and `<prefix>:pools` ZSET pool name → expiry: the live pools of this prefix (one at a time).
 *
 * Guarantees:
 * - One pool per prefix and database: {@link PoolMembership.join} is refused while a pool with
 *   another set of queues is live there (two pools would each count their own caps).
 * - One process per instance id: the record names its process (host, pid, start time); a join is
 *   refused while another process's record with that id is live, and a beat, a claim or a release
 *   of a process whose id another process holds now changes nothing.
 * - An instance is live while its heartbeat is younger than its expiry (3 beats); a dead one
 *   disappears from {@link PoolMembership.snapshot} without anyone cleaning up after it.
 * - A unit runs only under a slot: {@link PoolMembership.claimSlot} grants slot `n` of a queue
 *   only when fewer than the stored `maxTotalWorkers` slots are held in all and `n` is within the
 *   queue's stored `maxWorkers`, so the number of units never passes either cap, whatever the
 *   instances do at the same time and however each is configured. `n` is also the unit's number:
 *   `Worker-<queue>-<n>` is unique across instances.
 * - The stored caps are set by the first instance to join and live while any instance of the
 *   pool does; the last one to leave (or to die) takes them with it.
 * - Slots live as long as their instance's heartbeat renews them, and every beat hands Redis the
 *   exact set its open units hold: those are renewed, any other slot recorded for the instance is
 *   released (a release lost to an outage comes back within one beat). A dead instance's slots
 *   expire with it and their room goes to the live ones.
 */
import type { Redis } from 'ioredis';
import { capsFields, type PoolCaps } from './pool-caps.js';
import {
  BEAT_SCRIPT,
  CLAIM_SCRIPT,
  JOIN_SCRIPT,
  LEAVE_SCRIPT,
  RELEASE_SCRIPT,
  ORPHANS_SCRIPT,
  FORGET_SCRIPT,
  HOLD_SCRIPT,
  RELEASE_LEASE_SCRIPT,
  SNAPSHOT_SCRIPT,
} from './pool-membership-scripts.js';

/** One process holding an instance id: two processes configured with one id differ in the rest. */
export interface InstanceOwner {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** When the process started (ms). */
  readonly startedAt: number;
}

/** A unit slot: slot `n` of `queue` (the unit `Worker-<queue>-<n>`). */
export interface SlotRef {
  readonly queue: string;
  readonly n: number;
}

/** What an instance hands Redis at every beat: the slots it holds, nothing else is kept for it. */
export interface HeldSlots {
  /** The slots of its open units (starting, running, draining, or forced and not yet closed). */
  readonly held: readonly SlotRef[];
  /** Queues with a slot claim on its way: the slot it will get is not known yet, so kept. */
  readonly claiming: readonly string[];
}

/** A join or beat that went through: the instance is registered and its slots reconciled. */
export interface Renewal {
  /** The slots Redis still holds for this instance (renewed). */
  readonly held: SlotRef[];
  /** Slots recorded for this instance that no open unit holds: released by this beat. */
  readonly released: SlotRef[];
  /** The pool's stored caps, as HGETALL answers (read with `capsFromFields`). */
  readonly caps: string[];
}

/** Why Redis did not take a join or a beat: nothing was written. */
export type Refusal =
  /** Another process holds this instance id (its record is live). */
  | { readonly kind: 'duplicate'; readonly holder: InstanceRecord }
  /** Another pool (another set of queues) is live on this prefix and database. */
  | { readonly kind: 'other-pool'; readonly pool: string };

export type MembershipAnswer = ({ readonly kind: 'renewed' } & Renewal) | Refusal;

/** What an instance publishes every heartbeat: who holds its id, and what it runs. */
export interface InstanceRecord extends InstanceOwner {
  /** Its bridge's id (owner of `<sourceList>:processing:<bridgeId>`); taken over when it dies. */
  readonly bridgeId?: string;
  readonly version: string;
  /** Most units it may run. */
  readonly capacity: number;
  /** Live units per queue (starting, ready, busy). */
  readonly units: Readonly<Record<string, number>>;
  /** Wall-clock time of the beat, as the instance saw it (ms). */
  readonly beatAt: number;
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
  readonly #pool: string;
  readonly #keys: {
    instances: string;
    slots: string;
    holders: string;
    record: string;
    bridges: string;
    caps: string;
    pools: string;
    adopt: string;
    lease: string;
    nudges: string;
  };

  constructor(options: PoolMembershipOptions) {
    this.#redis = options.redis;
    this.#ttlMs = options.ttlMs;
    this.#pool = poolName(options.queues);
    const base = `${options.prefix}:pool:${this.#pool}`;
    this.#keys = {
      instances: `${base}:instances`,
      slots: `${base}:slots`,
      holders: `${base}:slot-holders`,
      record: `${base}:instance:`,
      bridges: `${base}:bridges`,
      caps: `${base}:config`,
      pools: `${options.prefix}:pools`,
      adopt: `${base}:adopting:`,
      lease: `${base}:list-lease:`,
      nudges: `${base}:nudges`,
    };
  }

  /** The pool's name (its queues, sorted, joined by `+`). */
  get pool(): string {
    return this.#pool;
  }

  /** The HASH holding the pool's caps (what an operator edits to change them live). */
  get capsKey(): string {
    return this.#keys.caps;
  }

  /** Heartbeats and slots expire this long after their last renewal. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Joins the pool at start: registers the record (whose host, pid and start time name its
   * process), stores `caps` where the pool has none yet, and releases any slot a dead predecessor
   * with this id left. Refused (nothing written) while another pool is live on this prefix, or
   * while another process's record with this id is live.
   */
  join(record: InstanceRecord, caps: PoolCaps): Promise<MembershipAnswer> {
    return this.#member(JOIN_SCRIPT, record, { held: [], claiming: [] }, caps);
  }

  /**
   * One heartbeat: renews the record, hands Redis the slots this instance holds (those are renewed,
   * any other slot recorded for it is released), stores `caps` again if the pool lost them. Refused
   * (nothing written) when another process holds this id now, or another pool took the prefix.
   */
  beat(record: InstanceRecord, slots: HeldSlots, caps: PoolCaps): Promise<MembershipAnswer> {
    return this.#member(BEAT_SCRIPT, record, slots, caps);
  }

  async #member(script: string, record: InstanceRecord, slots: HeldSlots, caps: PoolCaps): Promise<MembershipAnswer> {
    const k = this.#keys;
    const answer = (await this.#redis.eval(
      script,
      7,
      k.instances,
      k.slots,
      k.holders,
      k.record + record.id,
      k.bridges,
      k.caps,
      k.pools,
      record.id,
      JSON.stringify(record),
      this.#ttlMs,
      record.bridgeId ?? '',
      record.host,
      record.pid,
      record.startedAt,
      this.#pool,
      slots.held.map((s) => `${s.queue}|${s.n}`).join(','),
      slots.claiming.join(','),
      ...capsFields(caps),
    )) as [string, ...unknown[]];
    const [kind, a, b, c] = answer;
    if (kind === 'duplicate') return { kind, holder: JSON.parse(a as string) as InstanceRecord };
    if (kind === 'other-pool') return { kind, pool: a as string };
    return {
      kind: 'renewed',
      held: (a as string[]).map(parseSlot),
      released: (b as string[]).map(parseSlot),
      caps: c as string[],
    };
  }

  /**
   * Takes the lowest free slot of `queue` within the pool's stored caps; null when none is free.
   * Throws when `owner` is not registered (its heartbeat lapsed, or another process holds its id)
   * or the pool has no readable caps: no slot is granted then.
   */
  async claimSlot(owner: InstanceOwner, queue: string): Promise<number | null> {
    const k = this.#keys;
    const n = (await this.#redis.eval(
      CLAIM_SCRIPT,
      5,
      k.instances,
      k.slots,
      k.holders,
      k.record + owner.id,
      k.caps,
      owner.id,
      queue,
      this.#ttlMs,
      owner.host,
      owner.pid,
      owner.startedAt,
    )) as number;
    if (n === -1)
      throw new Error(`instância ${owner.id} não registrada no pool (heartbeat expirado ou id de outro processo)`);
    if (n === -2) throw new Error(`limites do pool ilegíveis em ${k.caps} (maxTotalWorkers, maxWorkers:${queue})`);
    return n > 0 ? n : null;
  }

  /** Frees slot `n` of `queue` if `owner` holds it (not if another process holds its id now). */
  async releaseSlot(owner: InstanceOwner, queue: string, n: number): Promise<void> {
    const k = this.#keys;
    await this.#redis.eval(
      RELEASE_SCRIPT,
      3,
      k.slots,
      k.holders,
      k.record + owner.id,
      owner.id,
      `${queue}|${n}`,
      owner.host,
      owner.pid,
      owner.startedAt,
    );
  }

  /**
   * Leaves the pool at shutdown (the others need not wait for the expiry); slots go as units
   * close. The last instance to leave takes the stored caps with it, so the next start sets them.
   */
  async leave(owner: InstanceOwner): Promise<void> {
    const k = this.#keys;
    await this.#redis.eval(
      LEAVE_SCRIPT,
      6,
      k.instances,
      k.slots,
      k.holders,
      k.record + owner.id,
      k.caps,
      k.pools,
      owner.id,
      owner.host,
      owner.pid,
      owner.startedAt,
      this.#pool,
    );
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

function parseSlot(slot: string): SlotRef {
  const at = slot.lastIndexOf('|');
  return { queue: slot.slice(0, at), n: Number(slot.slice(at + 1)) };
}
