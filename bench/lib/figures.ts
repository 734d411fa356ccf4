import { summarize, type Summary } from './stats.js';

/** One reported number: a measured quantity over several runs, optionally set against a baseline. */
export interface Figure {
  /** Benchmark name (`pipeline`, `scenario`, ...). */
  readonly bench: string;
  /** What was measured, e.g. `service K=1` or `raw BLPOP→RPUSH K=1 (baseline)`. */
  readonly case: string;
  readonly metric: string;
  readonly unit: string;
  readonly summary: Summary;
  /** `case` of the baseline figure in the same bench with the same metric; ratio = median / its median. */
  readonly baseline?: string;
  readonly ratio?: number;
  readonly note?: string;
}

export interface FigureInput {
  readonly case: string;
  readonly metric: string;
  readonly unit: string;
  readonly values: readonly number[];
  readonly baseline?: string;
  readonly note?: string;
}

/** Builds figures of one bench, resolving each `baseline` to a ratio of medians. */
export function figuresOf(bench: string, inputs: readonly FigureInput[]): Figure[] {
  const summaries = new Map(inputs.map((i) => [`${i.case}\u0000${i.metric}`, summarize(i.values)]));
  return inputs.map((input) => {
    const summary = summaries.get(`${input.case}\u0000${input.metric}`) ?? summarize(input.values);
    const base = input.baseline === undefined ? undefined : summaries.get(`${input.baseline}\u0000${input.metric}`);
    const ratio = base && base.median !== 0 ? summary.median / base.median : undefined;
    return {
      bench,
      case: input.case,
      metric: input.metric,
      unit: input.unit,
      summary,
      ...(input.baseline !== undefined ? { baseline: input.baseline } : {}),
      ...(ratio !== undefined ? { ratio } : {}),
      ...(input.note !== undefined ? { note: input.note } : {}),
    };
  });
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 100) return String(Math.round(value));
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A plain-text table: one line per figure, median [min–max] over its runs, and the ratio to its baseline. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['bench', 'case', 'metric', 'median', 'min', 'max', 'n', 'vs baseline'];
  const rows = figures.map((f) => [
    f.bench,
    f.case,
    `${f.metric} (${f.unit})`,
    fmt(f.summary.median),
    fmt(f.summary.min),
    fmt(f.summary.max),
    String(f.summary.runs),
    f.ratio === undefined ? '' : `${fmt(f.ratio)}x ${f.baseline ?? ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i >= 3 && i <= 6 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(header), sep, ...rows.map(line)].join('\n');
}
