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
 * - `reason` is one of {@link InvalidReason}; `detail` says more for people, on one line and
 *   bounded (fragments of the item in it are escaped and cut: fragment.ts).
 * - An item set aside as oversized (lossless-list-moves.ts) never reaches Node whole; its entry
 *   adds `"truncated": true`, `"bytes"` (its length), `"sha1"` (hex, of the whole item) and, when
 *   the side store kept its bytes, `"storedIn": {"key", "field"}` (a HASH field). `raw` /
 *   `rawBase64` then hold only its first bytes, so it cannot be requeued from the entry.
 */
import { createHash } from 'node:crypto';
import { isScheduleError, parseSchedule, type Schedule } from '../lib/scheduling.js';
import { boundedBytes, boundedFragment } from './fragment.js';
import { jobIdForPayloadId, jobIdForSequence } from './job-id.js';

/**
 * Why an item is invalid. `foreign-entry`: a processing-list entry the bridge did not write (no
 * sequence number), e.g. pushed there by hand; it is kept byte for byte like any other.
 * `bad-id`: the `id` is not a string or number, or cannot be mapped to a job id (an infinite
 * number such as `1e999`, a string with an unpaired surrogate). `not-serializable`: the payload
 * parses but cannot be written back as JSON (e.g. nested too deep). `rejected`: BullMQ refused
 * the job when it was added (the batch was split to find it; the detail holds BullMQ's error).
 * `bridge-error`: a step of the bridge threw on this item outside the classification (building
 * its job, its log line...); the detail names the step. No item can stop a batch.
 */
export type InvalidReason =
  | 'too-large'
  | 'invalid-utf8'
  | 'not-json'
  | 'not-object'
  | 'bad-id'
  | 'not-serializable'
  | 'rejected'
  | 'foreign-entry'
  | 'bridge-error'
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

/** What the steps learn about one item, filled in as they run. */
export interface ItemDraft {
  readonly raw: Buffer;
  /** The bridge sequence number: with the queue's name, the job id of items without payload `id`. */
  readonly seq: string;
  readonly queue: string;
  readonly maxItemBytes: number;
  text?: string;
  payload?: Record<string, unknown>;
  jobId?: string;
  fromPayload?: boolean;
  schedule?: Schedule;
}

/** An invalid verdict whose reason is more precise than the step's own (e.g. which field). */
export interface StepVerdict {
  readonly reason: InvalidReason;
  readonly detail: string;
}

/**
 * One step of the classification. It returns a detail string (or a {@link StepVerdict} naming a
 * more precise reason) when the item is invalid, or undefined to go on. A step that throws makes the item invalid with the step's reason and the
 * error's message, so nothing that runs between the raw bytes and `addBulk` can fail a batch.
 */
export interface ClassifyStep {
  readonly reason: InvalidReason;
  readonly run: (draft: ItemDraft) => string | StepVerdict | undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** The payload once the object step has run (steps after it may rely on it). */
function payloadOf(draft: ItemDraft): Record<string, unknown> {
  if (draft.payload === undefined) throw new Error('payload step has not run');
  return draft.payload;
}

/**
 * The steps, in order, from the raw bytes to a payload BullMQ will accept. To validate more (e.g.
 * scheduling fields), add a step; it sees everything the earlier steps found.
 */
export const CLASSIFY_STEPS: readonly ClassifyStep[] = [
  {
    reason: 'too-large',
    run: (d) => (d.raw.length > d.maxItemBytes ? `${d.raw.length} bytes > maxItemBytes ${d.maxItemBytes}` : undefined),
  },
  {
    reason: 'invalid-utf8',
    run: (d) => {
      try {
        d.text = strictUtf8.decode(d.raw);
        return undefined;
      } catch {
        return 'item is not valid UTF-8';
      }
    },
  },
  {
    reason: 'not-json',
    run: (d) => {
      d.payload = JSON.parse(d.text ?? '') as Record<string, unknown>;
      return undefined;
    },
  },
  {
    reason: 'not-object',
    run: (d) => {
      const parsed: unknown = d.payload;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return undefined;
      return `item is a JSON ${kindOf(parsed)}, not an object`;
    },
  },
  {
    reason: 'bad-id',
    run: (d) => {
      const payload = payloadOf(d);
      if (!Object.hasOwn(payload, 'id')) {
        d.jobId = jobIdForSequence(d.queue, d.seq);
        d.fromPayload = false;
        return undefined;
      }
      const id = payload.id;
      if (typeof id !== 'string' && typeof id !== 'number') return `id is ${kindOf(id)}, expected string or number`;
      d.jobId = jobIdForPayloadId(id);
      d.fromPayload = true;
      return undefined;
    },
  },
  {
    // Scheduling fields (CONTRACT.md): the verdict names the malformed field.
    reason: 'bad-prazo',
    run: (d) => {
      const schedule = parseSchedule(payloadOf(d));
      if (isScheduleError(schedule)) {
        return { reason: `bad-${schedule.field}`, detail: `${schedule.field}: ${schedule.detail}` };
      }
      d.schedule = schedule;
      return undefined;
    },
  },
  {
    // BullMQ stores JSON.stringify(data): a payload it cannot serialize would fail the whole batch.
    reason: 'not-serializable',
    run: (d) => {
      JSON.stringify(payloadOf(d));
      return undefined;
    },
  },
];

/**
 * Classifies one raw item by running {@link CLASSIFY_STEPS}. `seq` is the bridge sequence number
 * the item was given when it was moved; with the queue's name it becomes the job id of items
 * without payload `id`.
 * Never throws.
 */
export function classifyItem(
  raw: Buffer,
  seq: string,
  maxItemBytes: number,
  queue: string,
  steps: readonly ClassifyStep[] = CLASSIFY_STEPS,
): ClassifiedItem {
  const draft: ItemDraft = { raw, seq, queue, maxItemBytes };
  for (const step of steps) {
    let verdict: string | StepVerdict | undefined;
    try {
      verdict = step.run(draft);
    } catch (err) {
      verdict = err instanceof Error ? err.message : String(err);
    }
    // Details quote the item (JSON.parse errors do): one line, bounded.
    if (typeof verdict === 'string') return { valid: false, reason: step.reason, detail: boundedFragment(verdict) };
    if (verdict !== undefined) return { valid: false, reason: verdict.reason, detail: boundedFragment(verdict.detail) };
  }
  if (draft.payload === undefined || draft.jobId === undefined) {
    return { valid: false, reason: 'rejected', detail: 'classification ended without a payload and a job id' };
  }
  if (draft.schedule === undefined) {
    return { valid: false, reason: 'rejected', detail: 'classification ended without a schedule' };
  }
  return {
    valid: true,
    payload: draft.payload,
    jobId: draft.jobId,
    fromPayload: draft.fromPayload ?? false,
    schedule: draft.schedule,
  };
}

/** An item set aside as oversized: what its invalid entry says instead of holding it. */
export interface OversizedFacts {
  /** The whole item's length in bytes. */
  readonly bytes: number;
  /** SHA-1 of the whole item, hex. */
  readonly sha1: string;
  /** Where its exact bytes are kept (a HASH field); absent when they were dropped. */
  readonly storedIn?: { readonly key: string; readonly field: string };
}

/**
 * The JSON text pushed to the invalid list for `raw` (format in the file comment). With
 * `oversized`, `raw` is only the item's first bytes and the entry says so.
 */
export function invalidEntry(
  raw: Buffer,
  reason: InvalidReason,
  detail: string,
  queue: string,
  at: Date,
  oversized?: OversizedFacts,
): string {
  let exact: string | undefined;
  try {
    exact = strictUtf8.decode(raw);
  } catch {
    exact = undefined;
  }
  const rendering =
    exact !== undefined ? { raw: exact } : { raw: raw.toString('utf8'), rawBase64: raw.toString('base64') };
  const facts = oversized
    ? {
        truncated: true,
        bytes: oversized.bytes,
        sha1: oversized.sha1,
        ...(oversized.storedIn ? { storedIn: { key: oversized.storedIn.key, field: oversized.storedIn.field } } : {}),
      }
    : {};
  return JSON.stringify({ ...rendering, reason, detail, queue, at: at.toISOString(), ...facts });
}

/**
 * {@link invalidEntry}, never throwing: when the entry cannot be built (a string past V8's
 * limit, e.g. a huge item of control characters, 6 characters each in JSON), the exact bytes go
 * in `rawBase64` only, beside a bounded `raw`; when even that fails, the entry keeps the item's
 * first bytes, its length and hash (`truncated`), and `lost` is true (the caller logs it).
 */
export function safeInvalidEntry(
  raw: Buffer,
  reason: InvalidReason,
  detail: string,
  queue: string,
  at: Date,
  oversized?: OversizedFacts,
): { entry: string; lost: boolean } {
  try {
    return { entry: invalidEntry(raw, reason, detail, queue, at, oversized), lost: false };
  } catch {
    // fall through to the smaller forms
  }
  const bounded = boundedFragment(detail);
  if (!oversized) {
    try {
      const entry = JSON.stringify({
        raw: boundedBytes(raw),
        rawBase64: raw.toString('base64'),
        reason,
        detail: bounded,
        queue,
        at: at.toISOString(),
      });
      return { entry, lost: false };
    } catch {
      // fall through to the last form
    }
  }
  const prefix = raw.subarray(0, 256);
  return {
    entry: invalidEntry(prefix, reason, bounded, queue, at, {
      bytes: oversized?.bytes ?? raw.length,
      sha1: oversized?.sha1 ?? createHash('sha1').update(raw).digest('hex'),
      ...(oversized?.storedIn ? { storedIn: oversized.storedIn } : {}),
    }),
    lost: oversized === undefined,
  };
}

/** The exact bytes of an invalid-list entry's item. */
export function rawOfInvalidEntry(entry: { raw: string; rawBase64?: string }): Buffer {
  return entry.rawBase64 !== undefined ? Buffer.from(entry.rawBase64, 'base64') : Buffer.from(entry.raw, 'utf8');
}
