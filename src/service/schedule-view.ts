/**
 * Reads, for one BullMQ queue, what scheduling needs and the job counts do not say: the age of the
 * oldest waiting job, and the deadlines of the first waiting and postponed jobs in the order they
 * will run. Two pipelined round trips; at most `limit` jobs of each kind are read.
 */
import type { Redis } from 'ioredis';
import { deadlineOf } from '../lib/scheduling.js';
import type { WaitingDeadline } from './deadline-risk.js';

export interface ScheduleView {
  /** When the oldest waiting job became ready (added, or came due); null when none waits. */
  readonly oldestReadyAtMs: number | null;
  /** Waiting jobs with a deadline, by position in the processing order (first `limit` jobs only). */
  readonly waiting: readonly WaitingDeadline[];
  /** Postponed jobs with a deadline (first `limit` by due time). */
  readonly delayed: readonly { readonly dueAtMs: number; readonly deadlineMs: number }[];
  /** True when more than `limit` jobs wait: later positions were not read. */
  readonly truncated: boolean;
}

/** BullMQ 6 scores a delayed job `dueAtMs * 0x1000 + n`; a prioritized one `priority * 2^32 + n`. */
const DELAYED_SCORE_FACTOR = 0x1000;
const PRIORITY_BAND = 0x100000000;

function dataOf(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export async function readScheduleView(
  redis: Redis,
  queueKey: string,
  options: { limit: number; bands: readonly number[] },
): Promise<ScheduleView> {
  const { limit } = options;
  const first = redis.pipeline();
  // BullMQ takes from the wait list's right end first, then the lowest prioritized score.
  first.lrange(`${queueKey}:wait`, -limit, -1);
  first.zrange(`${queueKey}:prioritized`, 0, String(limit - 1));
  first.zrange(`${queueKey}:delayed`, 0, String(limit - 1), 'WITHSCORES');
  first.llen(`${queueKey}:wait`);
  first.zcard(`${queueKey}:prioritized`);
  // Each priority is FIFO, so the oldest waiting job heads one of the bands.
  for (const band of options.bands) {
    first.zrangebyscore(`${queueKey}:prioritized`, band * PRIORITY_BAND, (band + 1) * PRIORITY_BAND - 1, 'LIMIT', 0, 1);
  }
  const results = (await first.exec()) ?? [];
  const value = <T>(i: number): T => {
    const [err, v] = results[i] ?? [new Error('missing pipeline result'), null];
    if (err) throw err;
    return v as T;
  };
  const waitIds = value<string[]>(0).reverse();
  const prioritizedIds = value<string[]>(1);
  const delayedFlat = value<string[]>(2);
  const total = value<number>(3) + value<number>(4);
  const heads = options.bands.flatMap((_, i) => value<string[]>(5 + i));

  const ordered = [...waitIds, ...prioritizedIds].slice(0, limit);
  const delayed: { id: string; dueAtMs: number }[] = [];
  for (let i = 0; i + 1 < delayedFlat.length; i += 2) {
    delayed.push({
      id: delayedFlat[i] as string,
      dueAtMs: Math.floor(Number(delayedFlat[i + 1]) / DELAYED_SCORE_FACTOR),
    });
  }
  const ids = [...ordered, ...delayed.map((d) => d.id), ...heads];
  const second = redis.pipeline();
  for (const id of ids) second.hmget(`${queueKey}:${id}`, 'timestamp', 'delay', 'data');
  const hashes = ((await second.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return v as (string | null)[];
  });

  let oldestReadyAtMs: number | null = null;
  const readyAt = (hash: (string | null)[] | undefined): number | null => {
    if (!hash || hash[0] === null || hash[0] === undefined) return null; // gone since the first read
    return Number(hash[0]) + Number(hash[1] ?? 0);
  };
  const noteReady = (hash: (string | null)[] | undefined): void => {
    const at = readyAt(hash);
    if (at !== null && Number.isFinite(at))
      oldestReadyAtMs = oldestReadyAtMs === null ? at : Math.min(oldestReadyAtMs, at);
  };
  const waiting: WaitingDeadline[] = [];
  ordered.forEach((_, position) => {
    const hash = hashes[position];
    noteReady(hash);
    const deadlineMs = hash ? deadlineOf(dataOf(hash[2] ?? null)) : undefined;
    if (deadlineMs !== undefined) waiting.push({ position, deadlineMs });
  });
  const delayedDeadlines: { dueAtMs: number; deadlineMs: number }[] = [];
  delayed.forEach((d, i) => {
    const hash = hashes[ordered.length + i];
    const deadlineMs = hash ? deadlineOf(dataOf(hash[2] ?? null)) : undefined;
    if (deadlineMs !== undefined) delayedDeadlines.push({ dueAtMs: d.dueAtMs, deadlineMs });
  });
  heads.forEach((_, i) => noteReady(hashes[ordered.length + delayed.length + i]));
  return { oldestReadyAtMs, waiting, delayed: delayedDeadlines, truncated: total > limit };
}
