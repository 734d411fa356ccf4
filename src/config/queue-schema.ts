/** Keys a `queues.<name>` entry may set, with what each expects. Absent keys take the defaults. */
export const QUEUE_KEYS = {
  flow: 'string',
  sourceList: 'string',
  resultList: 'string',
  jobsPerWorker: 'positive-int-or-auto',
  minWorkers: 'nat',
  maxWorkers: 'nat',
  attempts: 'positive-int',
  backoffMs: 'nat',
  timeoutSeconds: 'positive-int',
  targetDrainSeconds: 'positive-int',
} as const;

export type QueueKey = keyof typeof QUEUE_KEYS;
export type QueueEntry = Partial<Record<QueueKey, string | number>>;

/** The seed's two queues. */
export const DEFAULT_QUEUES: Readonly<Record<string, QueueEntry>> = { conferencia: {}, emissao: {} };

/** BullMQ queue names end up in keys and ids: keep them plain. */
export const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Names a queue may not take: BullMQ keeps queue `<name>` under `<prefix>:<name>:*`, where the
 * service keeps its own keys (`<prefix>:rpa:*`, `<prefix>:pool:*`).
 */
export const RESERVED_QUEUE_NAMES: readonly string[] = ['rpa', 'pool'];

const EXPECT: Record<string, string> = {
  string: 'a non-empty string',
  'positive-int': 'an integer >= 1',
  nat: 'an integer >= 0',
  'positive-int-or-auto': 'an integer >= 1 or "auto"',
};

/** Returns what was expected when `value` does not fit `key`, else undefined. */
export function checkQueueValue(key: QueueKey, value: unknown): string | undefined {
  const kind = QUEUE_KEYS[key];
  if (kind === 'string') return typeof value === 'string' && value.length > 0 ? undefined : EXPECT[kind];
  if (kind === 'positive-int-or-auto' && value === 'auto') return undefined;
  const min = kind === 'nat' ? 0 : 1;
  return typeof value === 'number' && Number.isInteger(value) && value >= min ? undefined : EXPECT[kind];
}
