/**
 * Maps an item's identity to a BullMQ job id (tests check the mapping by inverting it).
 *
 * BullMQ 6 refuses custom ids that contain ':' and ids that are integers (`"7"`), and treats an
 * empty id as "no id". The mapping below is injective, so different identities never share a job
 * (which would silently swallow an item as a duplicate), and the common case stays readable:
 *
 * | identity                        | job id            |
 * | ------------------------------- | ----------------- |
 * | string `"abc-1"`                | `abc-1`           |
 * | string with `%` or `:` (`a:b`)  | `a%3Ab` (`%` → `%25`, `:` → `%3A`) |
 * | string that BullMQ would read as an integer, or empty (`"7"`, `""`) | `%s7`, `%s` |
 * | string naming one of BullMQ's own queue keys (`"meta"`, `"wait"`) | `%smeta`, `%swait` |
 * | number `7`, `-1.5`              | `%n7`, `%n-1.5`   |
 * | string shaped like a generated id (`"x-000042"`) | `%sx-000042` |
 * | no `id`: queue `conferencia`, bridge sequence `42` | `conferencia-000042` |
 *
 * Generated ids name their queue, so the same sequence number in two queues gives two ids (a
 * writer keying on `id` does not mix them up), and pad the number to six digits so they sort and
 * read well. An escaped string never holds `%` other than in `%25` or `%3A`, so the `%s` and `%n`
 * markers cannot be produced by any string id, and a string ending in `-` and six or more digits
 * is marked `%s`, so no payload id takes a generated one. The string `"7"` and the number `7` are
 * different JSON values and map to different jobs.
 *
 * A job's hash lives at `<prefix>:<queue>:<jobId>`, beside the queue's own keys
 * (`<prefix>:<queue>:meta`, `:wait`, `:id`...): an id equal to one of those names would find that
 * key and be taken for an existing job, so such ids get the `%s` marker too.
 *
 * Ids that cannot be mapped throw a `RangeError` (the classifier sends the item to the invalid
 * list): infinite numbers (JSON `1e999` parses as `Infinity`) and strings with an unpaired UTF-16
 * surrogate (`"\ud800"`), which Redis would store as U+FFFD, so different ids would share a job.
 *
 * Numbers are taken as JavaScript parses them: two integers beyond 2^53 that round to the same
 * double share a job id. Use string ids for such values.
 */

/** What identifies an item: its payload `id`, or the sequence number the bridge gave it. */
export type ItemIdentity =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'generated'; readonly queue: string; readonly seq: string };

/** What a generated id looks like once escaped: `<queue>-<6 or more digits>`. */
const GENERATED_SHAPE = /^(.*)-(\d{6,})$/;

/** True when BullMQ would refuse `id` as a custom job id (integer-looking, or empty). */
function looksLikeInteger(id: string): boolean {
  return `${parseInt(id, 10)}` === id;
}

/** BullMQ 6's per-queue key names (`QueueKeys#getKeys`), plus `metrics`, which it also uses. */
const BULLMQ_KEY_NAMES = new Set([
  'active',
  'wait',
  'waiting-children',
  'paused',
  'id',
  'delayed',
  'prioritized',
  'stalled-check',
  'completed',
  'failed',
  'stalled',
  'repeat',
  'limiter',
  'meta',
  'events',
  'pc',
  'marker',
  'de',
  'metrics',
]);

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function escapeString(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** The job id for a payload `id` (string or finite number). */
export function jobIdForPayloadId(id: string | number): string {
  if (typeof id === 'number') {
    if (!Number.isFinite(id)) throw new RangeError(`payload id must be a finite number, got ${id}`);
    // -0 and 0 are the same JSON number.
    return `%n${String(id === 0 ? 0 : id)}`;
  }
  if (UNPAIRED_SURROGATE.test(id)) throw new RangeError('payload id has an unpaired UTF-16 surrogate');
  const escaped = escapeString(id);
  const marked =
    escaped === '' || looksLikeInteger(escaped) || BULLMQ_KEY_NAMES.has(escaped) || GENERATED_SHAPE.test(escaped);
  return marked ? `%s${escaped}` : escaped;
}

/**
 * The job id for an item without payload `id`, from its queue and the sequence number the bridge
 * gave it: `conferencia-000042`.
 */
export function jobIdForSequence(queue: string, seq: string | number | bigint): string {
  const text = String(seq);
  if (!/^\d+$/.test(text)) throw new RangeError(`sequence must be a non-negative integer, got ${text}`);
  return `${escapeString(queue)}-${BigInt(text).toString().padStart(6, '0')}`;
}

/** The job id for an identity. */
export function jobIdFor(identity: ItemIdentity): string {
  switch (identity.kind) {
    case 'string':
    case 'number':
      return jobIdForPayloadId(identity.value);
    case 'generated':
      return jobIdForSequence(identity.queue, identity.seq);
  }
}
