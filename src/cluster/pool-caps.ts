/**
 * The pool's caps as Redis stores them (`<pool>:config`, a HASH): the first instance to join sets
 * them, every later one reads them, and the slot claims are checked against them inside Redis, so
 * an instance configured with higher caps cannot push the pool past the stored ones
 * (docs/multi-instance.md "Caps"). Pure helpers; the scripts live in pool-membership-scripts.ts.
 */

/** The caps that hold over all instances of a pool. */
export interface PoolCaps {
  /** Units over all queues (`scaler.maxTotalWorkers`). */
  readonly maxTotalWorkers: number;
  /** Units per queue, and the queue's BullMQ global concurrency (`queues.<name>.maxWorkers`). */
  readonly maxWorkers: Readonly<Record<string, number>>;
}

/** One cap where this instance's configuration and the stored one differ. */
export interface CapDifference {
  /** The stored field: `maxTotalWorkers` or `maxWorkers:<queue>`. */
  readonly field: string;
  readonly own: number;
  readonly stored: number;
}

const TOTAL = 'maxTotalWorkers';
const perQueue = (queue: string): string => `maxWorkers:${queue}`;

/** The caps as the HASH's field/value pairs. */
export function capsFields(caps: PoolCaps): string[] {
  const out = [TOTAL, String(caps.maxTotalWorkers)];
  for (const [queue, n] of Object.entries(caps.maxWorkers)) out.push(perQueue(queue), String(n));
  return out;
}

/**
 * Reads the HASH (flat field/value pairs, as HGETALL answers) for `queues`. A field that is
 * missing or not a whole number ≥ 0 is named in `invalid` and taken from `fallback`.
 */
export function capsFromFields(
  flat: readonly string[],
  queues: readonly string[],
  fallback: PoolCaps,
): { caps: PoolCaps; invalid: string[] } {
  const stored = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) stored.set(flat[i] ?? '', flat[i + 1] ?? '');
  const invalid: string[] = [];
  const read = (field: string, otherwise: number): number => {
    const raw = stored.get(field);
    if (raw !== undefined && /^\d+$/.test(raw)) return Number(raw);
    invalid.push(field);
    return otherwise;
  };
  const maxTotalWorkers = read(TOTAL, fallback.maxTotalWorkers);
  const maxWorkers = Object.fromEntries(queues.map((q) => [q, read(perQueue(q), fallback.maxWorkers[q] ?? 0)]));
  return { caps: { maxTotalWorkers, maxWorkers }, invalid };
}

/** The caps where `own` and `stored` differ, total first, then queues in name order. */
export function capsDifferences(own: PoolCaps, stored: PoolCaps): CapDifference[] {
  const out: CapDifference[] = [];
  if (own.maxTotalWorkers !== stored.maxTotalWorkers)
    out.push({ field: TOTAL, own: own.maxTotalWorkers, stored: stored.maxTotalWorkers });
  for (const queue of Object.keys(stored.maxWorkers).sort()) {
    const a = own.maxWorkers[queue] ?? 0;
    const b = stored.maxWorkers[queue] ?? 0;
    if (a !== b) out.push({ field: perQueue(queue), own: a, stored: b });
  }
  return out;
}

/** What taking the stored caps changed (the operator's words are made by the caller). */
export interface CapsTaken {
  /** The first take (at join): `differences` are from this instance's own configuration. */
  readonly first: boolean;
  /** From the configuration (first take) or from the caps in effect before (later takes). */
  readonly differences: readonly CapDifference[];
  /** Stored fields that could not be read (kept from the caps in effect). */
  readonly invalid: readonly string[];
}

/**
 * The caps this instance runs with: its own configuration's until it joins the pool, then always
 * the pool's stored ones. The one owner of them; the pool, the scaler, the status and BullMQ's
 * global concurrency read {@link CapsInEffect.current}.
 */
export class CapsInEffect {
  #current: PoolCaps;
  #taken = false;

  constructor(
    readonly own: PoolCaps,
    readonly queues: readonly string[],
  ) {
    this.#current = own;
  }

  get current(): PoolCaps {
    return this.#current;
  }

  /** Takes the stored caps (HGETALL's field/value pairs, as the join and every beat answer them). */
  take(flat: readonly string[]): CapsTaken {
    const { caps, invalid } = capsFromFields(flat, this.queues, this.#current);
    const first = !this.#taken;
    const differences = capsDifferences(first ? this.own : this.#current, caps);
    this.#current = caps;
    this.#taken = true;
    return { first, differences, invalid };
  }
}
