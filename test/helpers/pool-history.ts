import { Redis } from 'ioredis';
import { PoolHistoryReader } from '../../src/history/history-reader.js';
import { PoolHistoryWriter, type PoolHistoryWriterOptions } from '../../src/history/history-writer.js';
import type { ServiceEvents, ServiceEventMap } from '../../src/shared/events.js';
import type { HistorySeries, OutcomeCounts, PoolHistorySource } from '../../src/shared/pool-history.js';
import { captureLogger } from './capture-logger.js';
import { deleteKeys, sharedRedisConfig } from './redis.js';

/**
 * The real pool history on the shared test Redis, under `prefix`: a writer counting `events` (as
 * one instance of the service does) and the reader the dashboard and alerts use. `flush()` writes
 * at once; `close()` stops the writer and deletes the keys.
 */
export function redisPoolHistory(
  events: ServiceEvents,
  options: {
    prefix: string;
    queues: readonly string[];
    instanceId?: string;
    clock?: () => number;
    gauges?: PoolHistoryWriterOptions['gauges'];
  },
): { history: PoolHistorySource; writer: PoolHistoryWriter; flush(): Promise<void>; close(): Promise<void> } {
  const config = sharedRedisConfig();
  const redis = new Redis({ host: config.host, port: config.port });
  const writer = new PoolHistoryWriter({
    redis,
    prefix: options.prefix,
    queues: options.queues,
    instanceId: options.instanceId ?? 'maq-a',
    events,
    gauges: options.gauges ?? (() => ({ pending: 0, workers: 0, bridgeStuckSeconds: 0 })),
    retentionMs: 8 * 86_400_000,
    logger: captureLogger().logger,
    flushMs: 100,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  writer.start();
  const history = new PoolHistoryReader({
    redis,
    prefix: options.prefix,
    queues: options.queues,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    history,
    writer,
    flush: () => writer.flush(),
    async close() {
      await writer.close();
      await deleteKeys(redis, `${options.prefix}:rpa:metrics:*`);
      redis.disconnect();
    },
  };
}

type Entry = { at: number; queue: string; outcome: string; durationMs: number };

/**
 * A pool history from this process's events only, kept in memory: for unit tests without Redis.
 * `stuck` is what bridgeStuckSeconds() answers.
 */
export class EventPoolHistory implements PoolHistorySource {
  readonly #entries: Entry[] = [];
  stuck: Record<string, number> = {};

  constructor(
    events: ServiceEvents,
    readonly queues: readonly string[],
    readonly clock: () => number = Date.now,
  ) {
    events.on('job-finished', (info: ServiceEventMap['job-finished'][0]) =>
      this.#entries.push({ at: this.clock(), queue: info.queue, outcome: info.outcome, durationMs: info.durationMs }),
    );
    events.on('invalid', (info: ServiceEventMap['invalid'][0]) =>
      this.#entries.push({ at: this.clock(), queue: info.queue, outcome: 'invalid', durationMs: 0 }),
    );
  }

  series(): Promise<HistorySeries> {
    return Promise.resolve({ stepMs: 60_000, queues: {} });
  }

  outcomes(windowMs: number): Promise<Readonly<Record<string, OutcomeCounts>>> {
    const since = this.clock() - windowMs;
    const count = (queue: string): OutcomeCounts => {
      const mine = this.#entries.filter((e) => e.at >= since && (queue === '' || e.queue === queue));
      const n = (o: string): number => mine.filter((e) => e.outcome === o).length;
      const timed = mine.filter((e) => ['ok', 'error', 'retry'].includes(e.outcome));
      return {
        ok: n('ok'),
        error: n('error'),
        retry: n('retry'),
        expired: n('expired'),
        invalid: n('invalid'),
        meanDurationMs: timed.length ? timed.reduce((s, e) => s + e.durationMs, 0) / timed.length : null,
      };
    };
    return Promise.resolve(Object.fromEntries(['', ...this.queues].map((q) => [q, count(q)])));
  }

  bridgeStuckSeconds(): Promise<Readonly<Record<string, number>>> {
    return Promise.resolve(Object.fromEntries(this.queues.map((q) => [q, this.stuck[q] ?? 0])));
  }
}
