/**
 * The observed job time of each queue: the last `keep` successful attempts in a Redis list per
 * queue (LPUSH + LTRIM in one MULTI), each as `<durationMs>@<finishedAtMs>`, so the rolling median
 * survives restarts and every instance sees the same one. The median is the S of the learned
 * divisor; the finish times give the completions per minute the knee search compares. Entries
 * written before the finish time was kept (a bare duration) count for the median only.
 */
import type { Redis } from 'ioredis';

export interface JobTime {
  /** Median of the kept durations, in seconds. */
  readonly seconds: number;
  readonly samples: number;
  /** The kept jobs with their finish time (ms since epoch) and duration (ms), newest first. */
  readonly finished: readonly { readonly at: number; readonly ms: number }[];
}

/** Median of a list of numbers (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export class JobTimes {
  constructor(
    private readonly redis: Redis,
    /** Durations kept per queue. */
    private readonly keep: number,
    /** Key prefix: `<redis.prefix>:rpa:job-ms` (redis/keys.ts `jobTimesKeyPrefix`), then `:<queue>`. */
    readonly prefix: string,
  ) {}

  key(queue: string): string {
    return `${this.prefix}:${queue}`;
  }

  /** Records one successful attempt's duration, finished at `at`. */
  async record(queue: string, durationMs: number, at: number = Date.now()): Promise<void> {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    await this.redis
      .multi()
      .lpush(this.key(queue), `${Math.round(durationMs)}@${Math.round(at)}`)
      .ltrim(this.key(queue), 0, this.keep - 1)
      .exec();
  }

  /** The rolling median of every queue named (queues without samples are left out). */
  async sample(queues: readonly string[]): Promise<Record<string, JobTime>> {
    const pipeline = this.redis.pipeline();
    for (const q of queues) pipeline.lrange(this.key(q), 0, this.keep - 1);
    const replies = (await pipeline.exec()) ?? [];
    const out: Record<string, JobTime> = {};
    queues.forEach((q, i) => {
      const [err, list] = replies[i] ?? [null, []];
      if (err || !Array.isArray(list)) return;
      const values: number[] = [];
      const finished: { at: number; ms: number }[] = [];
      for (const entry of list as string[]) {
        const [ms, at] = entry.split('@').map(Number);
        if (ms === undefined || !Number.isFinite(ms)) continue;
        values.push(ms);
        if (at !== undefined && Number.isFinite(at)) finished.push({ at, ms });
      }
      if (values.length > 0) out[q] = { seconds: median(values) / 1000, samples: values.length, finished };
    });
    return out;
  }
}
