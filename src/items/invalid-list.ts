/**
 * The invalid list `<sourceList>:invalid` as the operator tools see it: entries read, edited and
 * moved back to the source list. The move is one Lua script (remove the exact entry, push the
 * item), so an entry another operator already took is never pushed twice.
 */
import { spawnSync } from 'node:child_process';
import type { Redis } from 'ioredis';
import { rawOfInvalidEntry } from '../bridge/item.js';

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
      };
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

/** Removes one entry; false if it was already gone. */
export async function dropEntry(redis: Redis, invalidKey: string, entryText: string): Promise<boolean> {
  return (await redis.lrem(invalidKey, 1, entryText)) === 1;
}
