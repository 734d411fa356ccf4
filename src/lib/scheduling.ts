/**
 * The payload's scheduling fields (CONTRACT.md "Scheduling fields"): `prioridade`, `executarApos`,
 * `prazo`. Pure; the bridge turns them into BullMQ job options, the workers read the deadline.
 *
 * Times are ISO-8601 with a date, a time and an explicit offset (`2026-12-01T08:00:00-03:00`,
 * `...Z`). A time without offset is refused rather than read in the server's time zone, which
 * would silently shift it by hours on a server set to UTC.
 */

/** The values of `prioridade`, most urgent first. */
export const PRIORITIES = ['alta', 'normal', 'baixa'] as const;
export type Prioridade = (typeof PRIORITIES)[number];

/**
 * BullMQ priority of each `prioridade` (1 runs first). Every job gets one: in BullMQ a job
 * without priority runs before all prioritized jobs. Within one priority BullMQ keeps FIFO.
 */
export const BULL_PRIORITY: Readonly<Record<Prioridade, number>> = { alta: 1, normal: 2, baixa: 3 };

/** The BullMQ priority of items without `prioridade`. */
export const DEFAULT_BULL_PRIORITY = BULL_PRIORITY.normal;

/** A payload's scheduling, parsed. Times in ms since epoch. */
export interface Schedule {
  readonly prioridade: Prioridade;
  /** Not before this time (`executarApos`). */
  readonly notBeforeMs?: number;
  /** Deadline (`prazo`). */
  readonly deadlineMs?: number;
}

/** The field that made a payload's scheduling invalid, and why (Portuguese, for operators). */
export interface ScheduleError {
  readonly field: 'prioridade' | 'executarApos' | 'prazo';
  readonly detail: string;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Ms since epoch of an ISO-8601 time with offset, or a reason it is not one. */
export function parseIsoTime(value: unknown): number | string {
  if (typeof value !== 'string') return `${describe(value)} não é um texto ISO-8601`;
  if (!ISO_WITH_OFFSET.test(value)) {
    return /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(value)
      ? `${describe(value)} não tem fuso horário (use Z ou -03:00)`
      : `${describe(value)} não é uma data/hora ISO-8601 (ex.: 2026-12-01T08:00:00-03:00)`;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return `${describe(value)} não é uma data/hora válida`;
  // Date.parse rolls 2026-02-30 over to March: refuse dates that do not exist.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return `${describe(value)} não é uma data válida`;
  return ms;
}

/** Parses the scheduling fields of a payload; absent fields take their defaults. */
export function parseSchedule(payload: Readonly<Record<string, unknown>>): Schedule | ScheduleError {
  let prioridade: Prioridade = 'normal';
  if (Object.hasOwn(payload, 'prioridade')) {
    const value = payload.prioridade;
    if (!PRIORITIES.includes(value as Prioridade)) {
      return { field: 'prioridade', detail: `${describe(value)} não é "alta", "normal" nem "baixa"` };
    }
    prioridade = value as Prioridade;
  }
  let notBeforeMs: number | undefined;
  if (Object.hasOwn(payload, 'executarApos')) {
    const parsed = parseIsoTime(payload.executarApos);
    if (typeof parsed === 'string') return { field: 'executarApos', detail: parsed };
    notBeforeMs = parsed;
  }
  let deadlineMs: number | undefined;
  if (Object.hasOwn(payload, 'prazo')) {
    const parsed = parseIsoTime(payload.prazo);
    if (typeof parsed === 'string') return { field: 'prazo', detail: parsed };
    deadlineMs = parsed;
  }
  if (notBeforeMs !== undefined && deadlineMs !== undefined && deadlineMs <= notBeforeMs) {
    return { field: 'prazo', detail: `prazo ${describe(payload.prazo)} não é depois de executarApos` };
  }
  return {
    prioridade,
    ...(notBeforeMs !== undefined ? { notBeforeMs } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
  };
}

export function isScheduleError(value: Schedule | ScheduleError): value is ScheduleError {
  return 'field' in value;
}

/** BullMQ options for a schedule, at `nowMs`: priority always, delay when not yet due. */
export function scheduleJobOptions(schedule: Schedule, nowMs: number): { priority: number; delay?: number } {
  const priority = BULL_PRIORITY[schedule.prioridade];
  const delay = schedule.notBeforeMs === undefined ? 0 : schedule.notBeforeMs - nowMs;
  return delay > 0 ? { priority, delay } : { priority };
}

/**
 * The deadline of a job's data, or undefined when it has none (or one that does not parse: the
 * bridge refused those, so such a job was added by other means and runs as if it had none).
 */
export function deadlineOf(data: Readonly<Record<string, unknown>>): number | undefined {
  if (!Object.hasOwn(data, 'prazo')) return undefined;
  const parsed = parseIsoTime(data.prazo);
  return typeof parsed === 'number' ? parsed : undefined;
}
