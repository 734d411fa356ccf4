/**
 * The Redis operations of the bridge that keep every item somewhere at every instant.
 *
 * An item is always in exactly one of: the source list (`fila:<queue>`), this bridge's processing
 * list (`<sourceList>:processing:<bridgeId>`), the invalid list, or BullMQ. Each step below is
 * one atomic Redis command (a Lua script or a MULTI), so a process killed between any two of them
 * leaves every item in one of those places:
 *
 * 1. {@link LosslessListMoves.take}: a Lua script pops items one by one from the left of the source
 *    list and appends them to the processing list, each prefixed with a sequence number
 *    (`<seq>|<raw bytes>`) drawn from BullMQ's own id counter of the queue (`<prefix>:<queue>:id`)
 *    in the same script. The sequence number is the job id of items without payload `id`
 *    ({@link jobIdForSequence}), so a replay after a crash finds the job it already made. It stops
 *    at `max` items or when the next one would pass the batch's byte budget (that item goes back
 *    to the head of the source list, in the same script), so a batch never brings more than about
 *    `maxBatchBytes` into Node.
 * 2. The bridge adds the jobs (BullMQ absorbs a replayed id).
 * 3. {@link LosslessListMoves.settle}: a Lua script checks the batch is still the head of the
 *    processing list, pushes the batch's invalid entries to the invalid list, trims the batch off
 *    the left of the processing list and, when the invalid list is past its bounds (entries or
 *    bytes), drops its oldest entries and says which.
 *
 * Oversized items never reach Node. An item longer than `maxItemBytes` is set aside inside the
 * script that meets it (take, or {@link LosslessListMoves.peek} for an entry already in a
 * processing list, e.g. left by an older version): its exact bytes move to the side store
 * `<invalidList>:oversized` (a HASH, field `<seq>-<sha1 prefix>`) and a small marker takes its
 * place in the processing list: `<seq>#<byte length>|<sha1 hex>|<field, or empty>|<first bytes>`.
 * The side store is bounded (`oversizedMaxItems`, `oversizedMaxBytes`); when it has no room the
 * item's bytes are dropped and the marker's field is empty: its length, hash and first bytes
 * still reach the invalid list, and the bridge logs and counts the drop. The marker becomes a
 * `too-large` invalid entry like any item (see item.ts).
 *
 * An idle bridge polls the source list's length (LLEN) rather than block on it: every blocking
 * list command (BLMOVE, BLPOP...) answers with the item it moved, so the first item pushed into an
 * empty list, however large, would reach Node.
 */
import type { Redis } from 'ioredis';

/** Separates the sequence number from the raw item in a processing-list entry. */
const SEPARATOR = 0x7c; // '|'
/** Separates the sequence number from an oversized item's marker. */
const MARKER = 0x23; // '#'
/** Bytes of an oversized item kept in its marker (and so in its invalid entry). */
export const OVERSIZED_PREFIX_BYTES = 256;
/** A marker is at most this long (sequence number, length, hash, field, prefix). */
const MARKER_MAX_BYTES = OVERSIZED_PREFIX_BYTES + 128;

// Sets one item aside (see the file comment); returns its marker. A failed HSET (Redis out of
// memory) drops the bytes rather than fail the script after its LPOP: nothing is half-done.
const SET_ASIDE = `
local function setAside(side, item, seq, prefixBytes, maxItems, maxBytes)
  local len = #item
  local sha = redis.sha1hex(item)
  local field = seq .. '-' .. string.sub(sha, 1, 12)
  local kept = ''
  if len <= maxBytes and redis.call('HLEN', side) < maxItems then
    local total = len
    local fields = redis.call('HKEYS', side)
    for i = 1, #fields do total = total + redis.call('HSTRLEN', side, fields[i]) end
    if total <= maxBytes then
      local done = redis.pcall('HSET', side, field, item)
      if type(done) == 'number' then kept = field end
    end
  end
  return seq .. '#' .. len .. '|' .. sha .. '|' .. kept .. '|' .. string.sub(item, 1, prefixBytes)
end
`;

// KEYS: source, processing, counter, side store.
// ARGV: max items, maxItemBytes, maxBatchBytes, prefix bytes, side max items, side max bytes.
// One LPOP per item: a batch's size is known only item by item, and LPOP <count> would copy every
// item of a batch into the script, however large. RPUSH in chunks of 500: unpack() of a whole
// large batch could pass Lua's C stack limit.
const TAKE_SCRIPT = `${SET_ASIDE}
local max = tonumber(ARGV[1])
local maxItemBytes = tonumber(ARGV[2])
local maxBatchBytes = tonumber(ARGV[3])
local base = tonumber(redis.call('GET', KEYS[3]) or '0')
local n = 0
local bytes = 0
local chunk = {}
while n < max do
  local item = redis.call('LPOP', KEYS[1])
  if not item then break end
  local seq = string.format('%d', base + n + 1)
  local oversized = #item > maxItemBytes
  local size = oversized and ${MARKER_MAX_BYTES} or (#seq + 1 + #item)
  if n > 0 and bytes + size > maxBatchBytes then
    redis.call('LPUSH', KEYS[1], item)
    break
  end
  local entry
  if oversized then
    entry = setAside(KEYS[4], item, seq, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
  else
    entry = seq .. '|' .. item
  end
  item = nil
  n = n + 1
  bytes = bytes + #entry
  chunk[#chunk + 1] = entry
  if #chunk == 500 then
    redis.call('RPUSH', KEYS[2], unpack(chunk))
    chunk = {}
  end
end
if #chunk > 0 then redis.call('RPUSH', KEYS[2], unpack(chunk)) end
if n > 0 then redis.call('INCRBY', KEYS[3], n) end
return n
`;

// KEYS: processing, side store. ARGV: max items, maxItemBytes, maxBatchBytes, prefix bytes, side
// max items, side max bytes, taken. Returns the head of the processing list within both budgets,
// after setting aside (in place, LSET) any entry whose item is oversized. An entry the take script
// wrote is already small; a larger one was left by an older version or pushed by hand. When the
// list holds exactly the \`taken\` entries the take script just wrote, they are returned as they are.
const PEEK_SCRIPT = `${SET_ASIDE}
local taken = tonumber(ARGV[7])
if taken > 0 and redis.call('LLEN', KEYS[1]) == taken then
  return redis.call('LRANGE', KEYS[1], 0, math.min(taken, tonumber(ARGV[1])) - 1)
end
local max = tonumber(ARGV[1])
local maxItemBytes = tonumber(ARGV[2])
local maxBatchBytes = tonumber(ARGV[3])
local out = {}
local bytes = 0
for i = 0, max - 1 do
  local entry = redis.call('LINDEX', KEYS[1], i)
  if not entry then break end
  if #entry > maxItemBytes and not string.find(entry, '^%d+#') then
    local seq = string.match(string.sub(entry, 1, 32), '^(%d+)|')
    local raw = seq and string.sub(entry, #seq + 2) or entry
    if #raw > maxItemBytes then
      entry = setAside(KEYS[2], raw, seq or '0', tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
      redis.call('LSET', KEYS[1], i, entry)
    end
    raw = nil
  end
  if i > 0 and bytes + #entry > maxBatchBytes then break end
  bytes = bytes + #entry
  out[#out + 1] = entry
end
return out
`;

// KEYS: processing, invalid list, side store. ARGV: n, first entry, last entry, invalid max
// entries, invalid max bytes, then the invalid entries. Returns the reasons of the invalid
// entries dropped to keep the bounds, oldest first. Bytes: Redis's own measure of the list
// (MEMORY USAGE, every node counted); where MEMORY is refused only the count bounds it.
const SETTLE_SCRIPT = `
local n = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] or redis.call('LINDEX', KEYS[1], n - 1) ~= ARGV[3] then
  return redis.error_reply('ERR processing list ' .. KEYS[1] .. ' changed under this bridge: is another bridge running with the same id?')
end
for i = 6, #ARGV, 500 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
redis.call('LTRIM', KEYS[1], n, -1)
local dropped = {}
if #ARGV < 6 then return dropped end
local maxItems = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[5])
local len = redis.call('LLEN', KEYS[2])
local usage = redis.pcall('MEMORY', 'USAGE', KEYS[2], 'SAMPLES', '0')
if type(usage) ~= 'number' then usage = 0 end
while len > 0 and (len > maxItems or usage > maxBytes) do
  local entry = redis.call('LPOP', KEYS[2])
  len = len - 1
  usage = usage - #entry
  dropped[#dropped + 1] = string.match(entry, '"reason":"([%w%-]*)"') or '?'
  -- An oversized item's bytes in the side store go with its entry.
  if string.find(entry, '"storedIn"', 1, true) then
    local ok, parsed = pcall(cjson.decode, entry)
    if ok and type(parsed) == 'table' and type(parsed.storedIn) == 'table'
      and parsed.storedIn.key == KEYS[3] and type(parsed.storedIn.field) == 'string' then
      redis.call('HDEL', KEYS[3], parsed.storedIn.field)
    end
  end
end
return dropped
`;

/** Bounds of what one batch takes, and of the side store of oversized items. */
export interface MoveLimits {
  /** Larger items are set aside inside Redis. */
  readonly maxItemBytes: number;
  /** Most bytes of processing entries one batch brings into Node (at least one entry always). */
  readonly maxBatchBytes: number;
  /** The side store keeps at most this many oversized items... */
  readonly oversizedMaxItems: number;
  /** ...and at most this many bytes of them; beyond, an oversized item's bytes are dropped. */
  readonly oversizedMaxBytes: number;
}

/** Bounds of the invalid list: past either, its oldest entries are dropped. */
export interface InvalidListLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

/** What the marker of an oversized item says (see the file comment). */
export interface OversizedMarker {
  /** The item's length in bytes. */
  readonly bytes: number;
  /** SHA-1 of the whole item, hex. */
  readonly sha1: string;
  /** Its field in the side store; undefined when its bytes were dropped (the store was full). */
  readonly field: string | undefined;
}

/** One entry of a processing list. `seq` is undefined for an entry not written by a bridge. */
export interface ProcessingEntry {
  readonly seq: string | undefined;
  /** The item's bytes; for an oversized item, only its first bytes. */
  readonly raw: Buffer;
  /** The whole stored entry (`<seq>|<raw>` or the marker). */
  readonly entry: Buffer;
  /** Set for an item set aside as oversized: `raw` is then its prefix. */
  readonly oversized?: OversizedMarker;
}

/** The processing list a bridge instance owns for one source list. */
export function processingListOf(sourceList: string, bridgeId: string): string {
  return `${sourceList}:processing:${bridgeId}`;
}

/** The side store of oversized items of a queue: a HASH next to its invalid list. */
export function oversizedStoreOf(invalidList: string): string {
  return `${invalidList}:oversized`;
}

function isDigits(buffer: Buffer): boolean {
  return buffer.length > 0 && buffer.every((b) => b >= 0x30 && b <= 0x39);
}

/** `<seq>#<bytes>|<sha1>|<field>|<prefix>` → its parts; undefined when `entry` is not one. */
function parseMarker(entry: Buffer, seqEnd: number): ProcessingEntry | undefined {
  const fields: Buffer[] = [];
  let from = seqEnd + 1;
  for (let i = 0; i < 3; i++) {
    const at = entry.indexOf(SEPARATOR, from);
    if (at < 0) return undefined;
    fields.push(entry.subarray(from, at));
    from = at + 1;
  }
  const [bytes, sha1, field] = fields as [Buffer, Buffer, Buffer];
  if (!isDigits(bytes) || !/^[0-9a-f]{40}$/.test(sha1.toString('latin1'))) return undefined;
  return {
    seq: entry.subarray(0, seqEnd).toString('latin1'),
    raw: entry.subarray(from),
    entry,
    oversized: {
      bytes: Number(bytes.toString('latin1')),
      sha1: sha1.toString('latin1'),
      field: field.length > 0 ? field.toString('latin1') : undefined,
    },
  };
}

/** Splits a processing-list entry into its sequence number and the raw item bytes (or its marker). */
export function parseProcessingEntry(entry: Buffer): ProcessingEntry {
  let at = 0;
  while (at < entry.length && at < 32 && (entry[at] as number) >= 0x30 && (entry[at] as number) <= 0x39) at++;
  if (at > 0 && entry[at] === SEPARATOR)
    return { seq: entry.subarray(0, at).toString('latin1'), raw: entry.subarray(at + 1), entry };
  if (at > 0 && entry[at] === MARKER) {
    const marker = parseMarker(entry, at);
    if (marker) return marker;
  }
  return { seq: undefined, raw: entry, entry };
}

type TakeCommand = (
  source: string,
  processing: string,
  counter: string,
  side: string,
  max: number,
  maxItemBytes: number,
  maxBatchBytes: number,
  prefixBytes: number,
  sideMaxItems: number,
  sideMaxBytes: number,
) => Promise<number>;
type PeekCommand = (
  processing: string,
  side: string,
  max: number,
  maxItemBytes: number,
  maxBatchBytes: number,
  prefixBytes: number,
  sideMaxItems: number,
  sideMaxBytes: number,
  taken: number,
) => Promise<Buffer[]>;
type SettleCommand = (
  processing: string,
  invalidList: string,
  side: string,
  count: number,
  first: Buffer,
  last: Buffer,
  maxItems: number,
  maxBytes: number,
  ...invalidEntries: string[]
) => Promise<string[]>;

/** Atomic moves between the source, processing and invalid lists (see the file comment). */
export class LosslessListMoves {
  readonly #redis: Redis & { bridgeTake?: TakeCommand; bridgePeekBuffer?: PeekCommand; bridgeSettle?: SettleCommand };
  readonly #limits: MoveLimits;

  /** `redis` is a command connection (not blocking); the scripts are defined on it once. */
  constructor(redis: Redis, limits: MoveLimits) {
    this.#redis = redis;
    this.#limits = limits;
    if (typeof this.#redis.bridgeTake !== 'function') {
      redis.defineCommand('bridgeTake', { numberOfKeys: 4, lua: TAKE_SCRIPT });
      redis.defineCommand('bridgePeek', { numberOfKeys: 2, lua: PEEK_SCRIPT });
      redis.defineCommand('bridgeSettle', { numberOfKeys: 3, lua: SETTLE_SCRIPT });
    }
  }

  /**
   * Moves up to `max` items from the left of `source` to the right of `processing`, numbered from
   * `counter` (INCRBY), within the batch's byte budget; oversized items are set aside into `side`.
   * Returns how many were moved (0 when the source is empty).
   */
  async take(source: string, processing: string, counter: string, side: string, max: number): Promise<number> {
    const take = this.#redis.bridgeTake as TakeCommand;
    const l = this.#limits;
    return Number(
      await take.call(
        this.#redis,
        source,
        processing,
        counter,
        side,
        max,
        l.maxItemBytes,
        l.maxBatchBytes,
        OVERSIZED_PREFIX_BYTES,
        l.oversizedMaxItems,
        l.oversizedMaxBytes,
      ),
    );
  }

  /**
   * The first entries of the processing list, oldest first, as exact bytes: at most `max` of
   * them and about `maxBatchBytes` (at least one). An oversized item still in the list is set
   * aside first (the entry comes back as its marker).
   *
   * `taken`: how many entries {@link take} just moved. When the list holds exactly those (each
   * within `maxItemBytes`, together within `maxBatchBytes`), the script returns them without
   * checking each one; anything else (a replay, leftovers of a crash or of an older version, an
   * entry pushed by hand) is checked entry by entry.
   */
  async peek(processing: string, side: string, max: number, taken = 0): Promise<ProcessingEntry[]> {
    const peek = this.#redis.bridgePeekBuffer as PeekCommand;
    const l = this.#limits;
    const entries = await peek.call(
      this.#redis,
      processing,
      side,
      max,
      l.maxItemBytes,
      l.maxBatchBytes,
      OVERSIZED_PREFIX_BYTES,
      l.oversizedMaxItems,
      l.oversizedMaxBytes,
      taken,
    );
    return entries.map(parseProcessingEntry);
  }

  /**
   * In one script: checks that `batch` is still the head of `processing`, appends
   * `invalidEntries` to `invalidList`, removes the batch and keeps the invalid list within
   * `bounds` by dropping its oldest entries (an oversized item's bytes in `side` go with its
   * entry). The check makes a second bridge started by mistake with the same id harmless: it
   * cannot trim entries it has not bridged (its step fails and is retried; BullMQ's id check
   * absorbs the jobs both of them added). Returns the reasons of the entries dropped, oldest first.
   */
  async settle(
    processing: string,
    batch: readonly ProcessingEntry[],
    invalidList: string,
    side: string,
    bounds: InvalidListLimits,
    invalidEntries: readonly string[],
  ): Promise<string[]> {
    const first = batch[0];
    const last = batch[batch.length - 1];
    if (!first || !last) return [];
    const settle = this.#redis.bridgeSettle as SettleCommand;
    const dropped = await settle.call(
      this.#redis,
      processing,
      invalidList,
      side,
      batch.length,
      first.entry,
      last.entry,
      bounds.maxItems,
      bounds.maxBytes,
      ...invalidEntries,
    );
    return Array.isArray(dropped) ? dropped.map(String) : [];
  }
}

/** The invalid list's size now: entries and bytes (Redis's MEMORY USAGE; 0 where MEMORY is refused). */
export async function invalidListUsage(redis: Redis, invalidList: string): Promise<{ items: number; bytes: number }> {
  const [items, bytes] = await Promise.all([
    redis.llen(invalidList),
    (redis.call('MEMORY', 'USAGE', invalidList, 'SAMPLES', '0') as Promise<number | null>).catch(() => 0),
  ]);
  return { items, bytes: Number(bytes ?? 0) };
}
