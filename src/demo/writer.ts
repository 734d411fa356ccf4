/**
 * The demo writer: plays the legacy writer's part (CONTRACT.md "Result entry") by draining
 * `fila:resultado` with BLPOP, showing progress while it runs and a summary at the end.
 */
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../lib/sleep.js';
import { ProgressTracker, progressLine, summaryLines, type ProgressSnapshot } from './progress.js';
import type { DemoOutput } from './status-line.js';

/** Options for {@link DemoWriter}. */
export interface DemoWriterOptions {
  /** @defaultValue 'fila:resultado' */
  readonly list?: string;
  /** Results expected; the writer returns once they arrived. `undefined`: runs until aborted. */
  readonly total?: number;
  /** Only entries whose `id` starts with this count toward the run. @defaultValue '' (every entry) */
  readonly idPrefix?: string;
  /**
   * Gets each raw entry that is not this run's (another run's, or not a result at all). The writer
   * has taken it off the list, so this is where it must be kept.
   */
  readonly onForeign?: (raw: string) => void;
  /** Where progress goes; none: silent. */
  readonly output?: DemoOutput;
  /** BLPOP timeout, which is also how soon an abort is noticed. @defaultValue 1 */
  readonly blockSeconds?: number;
  /** Progress refresh while no result arrives. @defaultValue 1000 */
  readonly tickMs?: number;
  /** @defaultValue Date.now */
  readonly clock?: Clock;
}

/** What the writer saw. */
export interface WriterReport extends ProgressSnapshot {
  /** True when `total` results arrived (false when aborted first, or unbounded). */
  readonly complete: boolean;
  /** This run's results per `queue` field. */
  readonly byQueue: Readonly<Record<string, number>>;
  /** Entries taken that were not this run's. */
  readonly foreign: number;
  /** The first few errors, `id: message`. */
  readonly firstErrors: readonly string[];
}

interface ResultLike {
  readonly id: unknown;
  readonly queue?: unknown;
  readonly status: unknown;
  readonly error?: { readonly message?: unknown } | null;
}

function parseResult(raw: string): ResultLike | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const entry = value as ResultLike;
    if (entry.status !== 'ok' && entry.status !== 'error') return undefined;
    return entry;
  } catch {
    return undefined;
  }
}

const MAX_ERRORS_KEPT = 5;

export class DemoWriter {
  readonly #redis: Redis;
  readonly #list: string;
  readonly #total: number | undefined;
  readonly #idPrefix: string;
  readonly #options: DemoWriterOptions;
  readonly #clock: Clock;
  readonly #byQueue: Record<string, number> = {};
  readonly #firstErrors: string[] = [];
  #foreign = 0;
  #tracker: ProgressTracker | undefined;

  /** `redis` is used for BLPOP: give the writer a connection of its own. */
  constructor(redis: Redis, options: DemoWriterOptions = {}) {
    this.#redis = redis;
    this.#options = options;
    this.#list = options.list ?? 'fila:resultado';
    this.#total = options.total;
    this.#idPrefix = options.idPrefix ?? '';
    this.#clock = options.clock ?? systemClock;
  }

  /** Progress so far (zeros before {@link run}). */
  snapshot(): ProgressSnapshot {
    const now = this.#clock();
    return (this.#tracker ?? new ProgressTracker({ total: this.#total, startedAtMs: now })).snapshot(now);
  }

  /**
   * Drains until `total` results of this run arrived or `signal` aborts; an entry already taken when
   * the abort comes is still counted. Returns the report; Redis errors reject.
   */
  async run(signal?: AbortSignal): Promise<WriterReport> {
    const tracker = new ProgressTracker({ total: this.#total, startedAtMs: this.#clock() });
    this.#tracker = tracker;
    const output = this.#options.output;
    const show = (): void => output?.status(progressLine(tracker.snapshot(this.#clock())));
    const ticker = setInterval(show, this.#options.tickMs ?? 1000);
    try {
      show();
      while (!tracker.complete && !signal?.aborted) {
        const popped = await this.#redis.blpop(this.#list, this.#options.blockSeconds ?? 1);
        if (!popped) continue;
        this.#take(popped[1], tracker);
        show();
      }
    } finally {
      clearInterval(ticker);
      output?.endStatus();
    }
    return {
      ...tracker.snapshot(this.#clock()),
      complete: tracker.complete,
      byQueue: { ...this.#byQueue },
      foreign: this.#foreign,
      firstErrors: [...this.#firstErrors],
    };
  }

  #take(raw: string, tracker: ProgressTracker): void {
    const entry = parseResult(raw);
    const id = entry === undefined ? undefined : String(entry.id);
    if (entry === undefined || id === undefined || !id.startsWith(this.#idPrefix)) {
      this.#foreign += 1;
      this.#options.onForeign?.(raw);
      return;
    }
    const queue = typeof entry.queue === 'string' ? entry.queue : '(no queue)';
    this.#byQueue[queue] = (this.#byQueue[queue] ?? 0) + 1;
    if (entry.status === 'error' && this.#firstErrors.length < MAX_ERRORS_KEPT) {
      const message = typeof entry.error?.message === 'string' ? entry.error.message : 'no message';
      this.#firstErrors.push(`${id}: ${message}`);
    }
    tracker.record(entry.status === 'ok' ? 'ok' : 'error', this.#clock());
  }
}

/** The summary printed at the end of a run. */
export function reportLines(report: WriterReport): string[] {
  const lines = summaryLines(report);
  const queues = Object.entries(report.byQueue)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([queue, count]) => `${count} ${queue}`);
  if (queues.length > 0) lines.splice(1, 0, `  by queue:   ${queues.join(', ')}`);
  if (report.foreign > 0) lines.push(`  not this run's: ${report.foreign} entries taken from the list`);
  for (const error of report.firstErrors) lines.push(`  error: ${error}`);
  return lines;
}
