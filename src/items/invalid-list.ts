/**
 * The invalid list `<sourceList>:invalid` as the operator tools see it: entries read, edited and
 * moved back to the source list. The move is one Lua script (remove the exact entry, push the
 * item), so an entry another operator already took is never pushed twice.
 *
 * An oversized item's entry holds only the item's start (`truncated`), its length and hash; its
 * exact bytes are in the side store `<invalidList>:oversized` when it had room (`storedIn`). Such
 * an entry cannot be requeued (the item is over `bridge.maxItemBytes` anyway); dropping it drops
 * its bytes from the side store in the same script.
 */
import { spawnSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { rawOfInvalidEntry } from '../bridge/item.js';
import { oversizedStoreOf } from '../bridge/lossless-list-moves.js';

/** What an oversized item's entry says instead of holding the item. */
export interface OversizedEntryFacts {
  /** The whole item's length in bytes. */
  readonly bytes: number;
  readonly sha1: string;
  /** Where its exact bytes are (a HASH field); undefined when they were dropped. */
  readonly storedIn: { readonly key: string; readonly field: string } | undefined;
}

/** One entry of the invalid list. */
export interface InvalidListEntry {
  /** 1-based place in the list, as `items list` shows it. */
  readonly n: number;
  /** The entry exactly as stored (removal matches on it). */
  readonly text: string;
  /** The item's bytes. */
  readonly raw: Buffer;
  readonly reason: string;
  readonly detail: string;
  readonly at: string;
  /** Set when `raw` is only the start of an oversized item (the entry cannot be requeued). */
  readonly oversized?: OversizedEntryFacts;
}

function oversizedOf(entry: Record<string, unknown>): OversizedEntryFacts | undefined {
  if (entry.truncated !== true) return undefined;
  const stored = entry.storedIn as { key?: unknown; field?: unknown } | undefined;
  return {
    bytes: typeof entry.bytes === 'number' ? entry.bytes : -1,
    sha1: typeof entry.sha1 === 'string' ? entry.sha1 : '?',
    storedIn:
      stored && typeof stored.key === 'string' && typeof stored.field === 'string'
        ? { key: stored.key, field: stored.field }
        : undefined,
  };
}

/** Reads the whole list; an entry that is not the bridge's JSON is shown as it is. */
export async function readInvalidList(redis: Redis, key: string): Promise<InvalidListEntry[]> {
  const texts = await redis.lrange(key, 0, -1);
  return texts.map((text, i) => {
    try {
      const entry = JSON.parse(text) as {
        raw?: unknown;
        rawBase64?: unknown;
        reason?: unknown;
        detail?: unknown;
        at?: unknown;
      } & Record<string, unknown>;
      const oversized = oversizedOf(entry);
      if (typeof entry.raw !== 'string') throw new Error('no raw');
      return {
        n: i + 1,
        text,
        raw: rawOfInvalidEntry({
          raw: entry.raw,
          ...(typeof entry.rawBase64 === 'string' ? { rawBase64: entry.rawBase64 } : {}),
        }),
        reason: typeof entry.reason === 'string' ? entry.reason : '?',
        detail: typeof entry.detail === 'string' ? entry.detail : '',
        at: typeof entry.at === 'string' ? entry.at : '',
        ...(oversized ? { oversized } : {}),
      };
    } catch {
      return { n: i + 1, text, raw: Buffer.from(text, 'utf8'), reason: 'entrada-desconhecida', detail: '', at: '' };
    }
  });
}

/** An edit applied to an item before it is requeued. */
export type ItemEdit =
  | { readonly kind: 'filter'; readonly command: string }
  | { readonly kind: 'patch'; readonly patch: Readonly<Record<string, unknown>> };

/**
 * Applies `edit` to an item: a filter command gets the item on stdin and prints the new one (a
 * JSON result is written back compact, so `jq` works as is); a patch is merged into the item's
 * top-level fields (`null` removes a field). Throws with a message for people.
 */
export function applyEdit(raw: Buffer, edit: ItemEdit): Buffer {
  if (edit.kind === 'filter') {
    const run = spawnSync('/bin/sh', ['-c', edit.command], {
      input: raw,
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.error) throw new Error(`filtro falhou: ${run.error.message}`);
    if (run.status !== 0) {
      throw new Error(`filtro saiu com código ${run.status ?? run.signal}: ${run.stderr.toString('utf8').trim()}`);
    }
    const out = run.stdout.toString('utf8').trim();
    try {
      return Buffer.from(JSON.stringify(JSON.parse(out)), 'utf8');
    } catch {
      return Buffer.from(out, 'utf8');
    }
  }
  let item: unknown;
  try {
    item = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Error('o item não é JSON: use um filtro (--filter) para corrigi-lo');
  }
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new Error('o item não é um objeto JSON: use um filtro (--filter) para corrigi-lo');
  }
  const merged: Record<string, unknown> = { ...(item as Record<string, unknown>) };
  for (const [key, value] of Object.entries(edit.patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return Buffer.from(JSON.stringify(merged), 'utf8');
}

const REQUEUE = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/** Moves one entry's item (possibly edited) to the end of the source list; false if the entry is gone. */
export async function requeueEntry(
  redis: Redis,
  invalidKey: string,
  sourceList: string,
  entryText: string,
  item: Buffer,
): Promise<boolean> {
  return (await redis.eval(REQUEUE, 2, invalidKey, sourceList, entryText, item)) === 1;
}

const DROP = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  if ARGV[2] ~= '' then redis.call('HDEL', KEYS[2], ARGV[2]) end
  return 1
end
return 0`;

/**
 * Removes one entry, and an oversized item's bytes from the side store with it (only from this
 * list's side store); false if the entry was already gone.
 */
export async function dropEntry(redis: Redis, invalidKey: string, entry: InvalidListEntry): Promise<boolean> {
  const side = oversizedStoreOf(invalidKey);
  const stored = entry.oversized?.storedIn;
  const field = stored && stored.key === side ? stored.field : '';
  return (await redis.eval(DROP, 2, invalidKey, side, entry.text, field)) === 1;
}
