/**
 * Decides what a raw list item is: a job payload with an identity, or an invalid item with a
 * reason. Pure; works on the exact bytes Redis returned.
 *
 * Invalid-list entry format (`<sourceList>:invalid`, one JSON object per item, RPUSHed):
 *
 *     {"raw": "...", "reason": "not-json", "detail": "...", "queue": "conferencia", "at": "2024-...Z"}
 *
 * - `raw` is the item as a string. When the item is valid UTF-8 (a byte-order mark included) it
 *   is exactly the item: `Buffer.from(entry.raw, 'utf8')` gives back the original bytes.
 * - When the item is not valid UTF-8, `raw` is a lossy rendering for people (bad bytes become
 *   U+FFFD) and `rawBase64` holds the exact bytes. Readers: use `rawBase64` when present.
 * - `reason` is one of {@link InvalidReason}; `detail` says more for people.
 */
import { isScheduleError, parseSchedule, type Schedule } from '../lib/scheduling.js';
import { jobIdForPayloadId, jobIdForSequence } from './job-id.js';

/**
 * Why an item is invalid. `foreign-entry`: a processing-list entry the bridge did not write (no
 * sequence number), e.g. pushed there by hand; it is kept byte for byte like any other.
 */
export type InvalidReason =
  | 'too-large'
  | 'invalid-utf8'
  | 'not-json'
  | 'not-object'
  | 'bad-id'
  | 'foreign-entry'
  | 'bad-prioridade'
  | 'bad-executarApos'
  | 'bad-prazo';

export type ClassifiedItem =
  | {
      readonly valid: true;
      readonly payload: Record<string, unknown>;
      readonly jobId: string;
      /** True when the id came from the payload (and so may repeat); false for generated ids. */
      readonly fromPayload: boolean;
      /** The scheduling fields (CONTRACT.md), checked; the bridge derives the job options from it. */
      readonly schedule: Schedule;
    }
  | { readonly valid: false; readonly reason: InvalidReason; readonly detail: string };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Classifies one raw item. `seq` is the bridge sequence number the item was given when it was
 * moved; with the queue's name it becomes the job id of items without payload `id`.
 */
export function classifyItem(raw: Buffer, seq: string, maxItemBytes: number, queue: string): ClassifiedItem {
  if (raw.length > maxItemBytes) {
    return { valid: false, reason: 'too-large', detail: `${raw.length} bytes > maxItemBytes ${maxItemBytes}` };
  }
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    return { valid: false, reason: 'invalid-utf8', detail: 'item is not valid UTF-8' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { valid: false, reason: 'not-json', detail: (err as Error).message };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : typeof parsed;
    return { valid: false, reason: 'not-object', detail: `item is a JSON ${kind}, not an object` };
  }
  const payload = parsed as Record<string, unknown>;
  const id = payload.id;
  if (Object.hasOwn(payload, 'id') && typeof id !== 'string' && typeof id !== 'number') {
    const kind = id === null ? 'null' : Array.isArray(id) ? 'array' : typeof id;
    return { valid: false, reason: 'bad-id', detail: `id is ${kind}, expected string or number` };
  }
  const schedule = parseSchedule(payload);
  if (isScheduleError(schedule)) {
    return { valid: false, reason: `bad-${schedule.field}`, detail: `${schedule.field}: ${schedule.detail}` };
  }
  if (typeof id === 'string' || typeof id === 'number') {
    return { valid: true, payload, jobId: jobIdForPayloadId(id), fromPayload: true, schedule };
  }
  return { valid: true, payload, jobId: jobIdForSequence(queue, seq), fromPayload: false, schedule };
}

/** The JSON text pushed to the invalid list for `raw` (format in the file comment). */
export function invalidEntry(raw: Buffer, reason: InvalidReason, detail: string, queue: string, at: Date): string {
  let exact: string | undefined;
  try {
    exact = strictUtf8.decode(raw);
  } catch {
    exact = undefined;
  }
  const entry =
    exact !== undefined
      ? { raw: exact, reason, detail, queue, at: at.toISOString() }
      : { raw: raw.toString('utf8'), rawBase64: raw.toString('base64'), reason, detail, queue, at: at.toISOString() };
  return JSON.stringify(entry);
}

/** The exact bytes of an invalid-list entry's item. */
export function rawOfInvalidEntry(entry: { raw: string; rawBase64?: string }): Buffer {
  return entry.rawBase64 !== undefined ? Buffer.from(entry.rawBase64, 'base64') : Buffer.from(entry.raw, 'utf8');
}
