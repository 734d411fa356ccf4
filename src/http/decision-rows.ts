import type { DecisionRecord } from '../shared/decision-record.js';

/** A row of the dashboard's decisions table: one change, or a run of identical holds folded. */
export interface DecisionRow {
  /** Time of the newest decision of the row, ms. */
  readonly at: number;
  /** Time of the oldest decision of the row (equal to `at` for a single decision), ms. */
  readonly firstAt: number;
  readonly queue: string;
  readonly action: DecisionRecord['action'];
  /** Pending jobs at the newest decision of the row. */
  readonly pending: number;
  readonly current: number;
  readonly target: number;
  readonly reason: string;
  /** How many decisions the row stands for (> 1 only for folded holds). */
  readonly count: number;
}

/**
 * Folds a queue's decisions, newest first, for the table: every `up` and `down` is a row of its
 * own; consecutive holds at the same worker count become one row with their count, so the changes
 * stay in view. At most `limit` rows.
 */
export function decisionRows(newestFirst: readonly DecisionRecord[], limit: number): DecisionRow[] {
  const rows: DecisionRow[] = [];
  for (const d of newestFirst) {
    const last = rows.at(-1);
    if (
      last &&
      d.action === 'hold' &&
      last.action === 'hold' &&
      last.current === d.current &&
      last.target === d.target
    ) {
      rows[rows.length - 1] = { ...last, firstAt: d.at, count: last.count + 1 };
      continue;
    }
    if (rows.length === limit) break;
    rows.push({
      at: d.at,
      firstAt: d.at,
      queue: d.queue,
      action: d.action,
      pending: d.pending,
      current: d.current,
      target: d.target,
      reason: d.reason,
      count: 1,
    });
  }
  return rows;
}

/**
 * At most `maxPoints` of a queue's decisions (oldest first) for its chart: the last decision of
 * each equal slice of `[sinceMs, untilMs]`, plus every change, so a day of holds stays light and no
 * scaling step is lost.
 */
export function thinDecisions(
  oldestFirst: readonly DecisionRecord[],
  sinceMs: number,
  untilMs: number,
  maxPoints: number,
): DecisionRecord[] {
  if (oldestFirst.length <= maxPoints) return [...oldestFirst];
  const sliceMs = Math.max(1, (untilMs - sinceMs) / maxPoints);
  const out: DecisionRecord[] = [];
  oldestFirst.forEach((d, i) => {
    const next = oldestFirst[i + 1];
    const lastOfSlice = !next || Math.floor((next.at - sinceMs) / sliceMs) !== Math.floor((d.at - sinceMs) / sliceMs);
    if (lastOfSlice || d.action !== 'hold') out.push(d);
  });
  return out;
}
