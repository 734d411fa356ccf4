/**
 * Reading the service's text log lines (`[time] level: message  (fields)`, see src/logging/logger.ts):
 * which ones the demo shows, and the worker totals in the seed's `[INFO] Worker ...` lines.
 */

export interface ServiceLine {
  /** winston level; `undefined` for output that is not a log line (a crash trace, say). */
  readonly level: string | undefined;
  /** The message without timestamp, level and trailing context fields. */
  readonly message: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const LOG_LINE = /^\[[^\]]+\] (\w+): (.*?)(?: {2}\([^()]*(?:\([^()]*\)[^()]*)*\))?$/;

/** Splits a log line; lines in another shape come back whole with no level. */
export function parseServiceLine(raw: string): ServiceLine {
  const line = raw.replace(ANSI, '');
  const match = LOG_LINE.exec(line);
  if (!match) return { level: undefined, message: line };
  return { level: match[1], message: match[2] ?? '' };
}

const SCALING_TAGS = /^\[(ESCALAR|REDUZIR)\] |^\[INFO\] Worker '/;

/** The lines worth showing on the demo's console: scaling events, workers coming and going, problems. */
export function isShownLine(line: ServiceLine): boolean {
  return SCALING_TAGS.test(line.message) || line.level === 'warn' || line.level === 'error';
}

const WORKER_TOTAL = /^\[INFO\] Worker '[^']+' \S+\. Total de (\S+): (\d+)$/;

/** `{queue, total}` from `[INFO] Worker 'Worker-conferencia-3' iniciado. Total de conferencia: 3`. */
export function workerTotal(message: string): { queue: string; total: number } | undefined {
  const match = WORKER_TOTAL.exec(message);
  if (!match) return undefined;
  return { queue: match[1] ?? '', total: Number(match[2]) };
}

/** Highest worker count seen per queue. */
export class WorkerPeaks {
  readonly #peaks = new Map<string, number>();

  /** Takes any message; only worker lines count. */
  see(message: string): void {
    const seen = workerTotal(message);
    if (seen) this.#peaks.set(seen.queue, Math.max(this.#peaks.get(seen.queue) ?? 0, seen.total));
  }

  get(queue: string): number {
    return this.#peaks.get(queue) ?? 0;
  }

  /** Queue name → peak, names sorted. */
  all(): Record<string, number> {
    return Object.fromEntries([...this.#peaks].sort(([a], [b]) => a.localeCompare(b)));
  }
}
