/**
 * Driving and judging a failover run (test/integration/redis/sentinel-failover.test.ts and
 * bench/failover.ts): a writer that drains the result list through Sentinel as the real writer
 * does, and the account of lost and duplicated items, each duplicate with its reason.
 */
import type { Redis } from 'ioredis';
import { sleep } from '../../src/lib/sleep.js';

/** A result entry as the writer sees it (CONTRACT.md "Result entry"), with when it was taken. */
export interface TakenEntry {
  readonly raw: string;
  readonly id: string;
  readonly status: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly worker: string;
  /** ms since epoch when the writer popped it. */
  readonly takenAt: number;
}

/**
 * Pops entries from `list` (BLPOP, 1 s) until `signal` aborts; Redis errors (a failover under
 * way) are waited out. Every entry is kept in `into`.
 */
export async function drainResults(redis: Redis, list: string, into: TakenEntry[], signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const popped = await redis.blpop(list, 1);
      if (!popped) continue;
      const raw = popped[1];
      const e = JSON.parse(raw) as {
        id: unknown;
        status: string;
        startedAt: string;
        finishedAt: string;
        worker: string;
      };
      into.push({
        raw,
        id: String(e.id),
        status: e.status,
        startedAt: e.startedAt,
        finishedAt: e.finishedAt,
        worker: e.worker,
        takenAt: Date.now(),
      });
    } catch {
      await sleep(100, signal);
    }
  }
}

/** Why an item has more than one entry. */
export type DuplicateReason =
  /** The same entry twice: the writer's pop was lost with the old master, which had replicated the RPUSH. */
  | 'entry-redelivered'
  /** Two attempts wrote an entry: the job ran again because its completion was lost with the master. */
  | 'job-ran-twice';

export interface FailoverAccount {
  readonly items: number;
  /** Ids with no entry. */
  readonly lost: readonly string[];
  readonly duplicates: readonly { id: string; reason: DuplicateReason; entries: readonly TakenEntry[] }[];
  /** Entries whose status is not `ok`. */
  readonly notOk: readonly TakenEntry[];
}

/** Lost and duplicated items among `ids`, from what the writer took. */
export function accountFor(ids: readonly string[], taken: readonly TakenEntry[]): FailoverAccount {
  const byId = new Map<string, TakenEntry[]>();
  for (const e of taken) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  const duplicates: { id: string; reason: DuplicateReason; entries: TakenEntry[] }[] = [];
  for (const [id, entries] of byId) {
    if (entries.length < 2) continue;
    const distinct = new Set(entries.map((e) => e.raw));
    duplicates.push({ id, reason: distinct.size === 1 ? 'entry-redelivered' : 'job-ran-twice', entries });
  }
  return {
    items: ids.length,
    lost: ids.filter((id) => !byId.has(id)),
    duplicates,
    notOk: taken.filter((e) => e.status !== 'ok'),
  };
}

/**
 * ms from the master's death to the first job that both started and finished after it (so it ran
 * wholly on the new master); undefined when none did.
 */
export function firstJobOnNewMasterMs(taken: readonly TakenEntry[], killedAt: number): number | undefined {
  const after = taken
    .filter((e) => Date.parse(e.startedAt) > killedAt)
    .map((e) => Date.parse(e.finishedAt) - killedAt)
    .sort((a, b) => a - b);
  return after[0];
}
