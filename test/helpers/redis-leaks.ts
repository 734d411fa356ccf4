/**
 * What the test suite leaves behind in its Redis: every key of every database listed before the
 * run and after it; the new ones are leaks (a test that forgot to clean up). Keys about to expire
 * on their own (a TTL of at most `expiringMs`) are not counted.
 */
import { Redis } from 'ioredis';

export type KeySnapshot = Map<number, Set<string>>;

/** Databases of the server (CONFIG GET databases; 16 when that is not allowed). */
async function databaseCount(client: Redis): Promise<number> {
  try {
    const reply = await client.config('GET', 'databases');
    const n = Number(reply[1]);
    return Number.isInteger(n) && n > 0 ? n : 16;
  } catch {
    return 16;
  }
}

/** Every key of every database (SCAN, never KEYS). */
export async function snapshotKeys(options: { host: string; port: number; password?: string }): Promise<KeySnapshot> {
  const client = new Redis({
    host: options.host,
    port: options.port,
    ...(options.password ? { password: options.password } : {}),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  try {
    await client.connect();
    const out: KeySnapshot = new Map();
    const dbs = await databaseCount(client);
    for (let db = 0; db < dbs; db++) {
      await client.select(db);
      const keys = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const k of batch) keys.add(k);
      } while (cursor !== '0');
      if (keys.size > 0) out.set(db, keys);
    }
    return out;
  } finally {
    client.disconnect();
  }
}

/** Keys present in `after` and not in `before`, by database, minus those that expire within `expiringMs`. */
export async function leakedKeys(
  options: { host: string; port: number; password?: string },
  before: KeySnapshot,
  after: KeySnapshot,
  expiringMs = 60_000,
): Promise<Map<number, string[]>> {
  const leaks = new Map<number, string[]>();
  const client = new Redis({
    host: options.host,
    port: options.port,
    ...(options.password ? { password: options.password } : {}),
    maxRetriesPerRequest: 1,
  });
  try {
    for (const [db, keys] of after) {
      const seen = before.get(db) ?? new Set<string>();
      const fresh = [...keys].filter((k) => !seen.has(k));
      if (fresh.length === 0) continue;
      await client.select(db);
      const kept: string[] = [];
      for (const key of fresh) {
        const ttl = await client.pttl(key);
        if (ttl === -2 || (ttl >= 0 && ttl <= expiringMs)) continue; // gone, or going on its own
        kept.push(key);
      }
      if (kept.length > 0) leaks.set(db, kept.sort());
    }
    return leaks;
  } finally {
    client.disconnect();
  }
}

/** Leaks grouped by key shape (digits and random ids folded), for a short report. */
export function describeLeaks(leaks: Map<number, string[]>): string[] {
  const lines: string[] = [];
  for (const [db, keys] of leaks) {
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const shape = key.replace(/[0-9a-f]{8}(-[0-9a-f]{4})*/g, '<id>').replace(/\d+/g, '<n>');
      groups.set(shape, [...(groups.get(shape) ?? []), key]);
    }
    for (const [shape, members] of [...groups].sort((x, y) => y[1].length - x[1].length)) {
      lines.push(`db ${db}: ${members.length} × ${shape} (e.g. ${members[0] ?? ''})`);
    }
  }
  return lines;
}
