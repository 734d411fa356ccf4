import type { Redis } from 'ioredis';
import type { DecisionRecord, ScaleAction } from '../shared/decision-record.js';

/**
 * A capped Redis stream of decisions (XADD MAXLEN ~), readable by time range; the seed's roadmap
 * asked for scaling metrics kept in Redis. Its key is `decisionsKey(redis.prefix)`
 * (`<prefix>:rpa:decisions`, redis/keys.ts).
 */
export class DecisionHistory {
  constructor(
    private readonly redis: Redis,
    private readonly maxLen: number,
    readonly key: string,
  ) {}

  async append(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const r of records) {
      pipeline.xadd(
        this.key,
        'MAXLEN',
        '~',
        this.maxLen,
        '*',
        'at',
        r.at,
        'queue',
        r.queue,
        'pending',
        r.pending,
        'current',
        r.current,
        'desired',
        r.desired,
        'target',
        r.target,
        'action',
        r.action,
        'reason',
        r.reason,
      );
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /** Decisions since `sinceMs` (oldest first): the newest `count` of them when there are more. */
  async since(sinceMs: number, count = 5000): Promise<DecisionRecord[]> {
    const rows = await this.redis.xrevrange(this.key, '+', String(Math.max(0, Math.floor(sinceMs))), 'COUNT', count);
    return rows.reverse().map(([, fields]) => parse(fields));
  }

  /** The latest `count` decisions, newest first. */
  async latest(count: number): Promise<DecisionRecord[]> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count);
    return rows.map(([, fields]) => parse(fields));
  }
}

function parse(fields: string[]): DecisionRecord {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i] ?? '', fields[i + 1] ?? '');
  const num = (k: string): number => Number(m.get(k) ?? 0);
  return {
    at: num('at'),
    queue: m.get('queue') ?? '',
    pending: num('pending'),
    current: num('current'),
    desired: num('desired'),
    target: num('target'),
    action: (m.get('action') ?? 'hold') as ScaleAction,
    reason: m.get('reason') ?? '',
  };
}
