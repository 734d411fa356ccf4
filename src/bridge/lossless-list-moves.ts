/**
 * The Redis operations of the bridge that keep every item somewhere at every instant.
 *
 * An item is always in exactly one of: the source list (`fila:<queue>`), this bridge's processing
 * list (`<sourceList>:processing:<bridgeId>`), the invalid list, or BullMQ. Each step below is
 * one atomic Redis command (a Lua script or a MULTI), so a process killed between any two of them
 * leaves every item in one of those places:
 *
 * 1. {@link LosslessListMoves.take}: a Lua script pops up to N items from the left of the source
 *    list and appends them to the processing list, each prefixed with a sequence number
 *    (`<seq>|<raw bytes>`) drawn from BullMQ's own id counter of the queue (`<prefix>:<queue>:id`)
 *    in the same script. The sequence number is the job id of items without payload `id`
 *    ({@link jobIdForSequence}), so a replay after a crash finds the job it already made.
 * 2. The bridge adds the jobs (BullMQ absorbs a replayed id).
 * 3. {@link LosslessListMoves.settle}: a Lua script checks the batch is still the head of the
 *    processing list, pushes the batch's invalid entries to the invalid list and trims the batch
 *    off the left of the processing list.
 *
 * {@link LosslessListMoves.waitForItems} blocks on `BLMOVE src src LEFT LEFT`: it pops the first
 * item and pushes it back in the same place in one command, so it takes nothing and loses nothing
 * if the process dies; it only wakes the bridge when the list has items.
 */
import type { Redis } from 'ioredis';

/** Separates the sequence number from the raw item in a processing-list entry. */
const SEPARATOR = 0x7c; // '|'

// RPUSH in chunks of 500: unpack() of a whole large batch could pass Lua's C stack limit.
const TAKE_SCRIPT = `
local max = tonumber(ARGV[1])
local items = redis.call('LPOP', KEYS[1], max)
if not items then return 0 end
local n = #items
local last = redis.call('INCRBY', KEYS[3], n)
local first = last - n
local chunk = {}
for i = 1, n do
  chunk[#chunk + 1] = string.format('%d', first + i) .. '|' .. items[i]
  if #chunk == 500 or i == n then
    redis.call('RPUSH', KEYS[2], unpack(chunk))
    chunk = {}
  end
end
return n
`;

const SETTLE_SCRIPT = `
local n = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] or redis.call('LINDEX', KEYS[1], n - 1) ~= ARGV[3] then
  return redis.error_reply('ERR processing list ' .. KEYS[1] .. ' changed under this bridge: is another bridge running with the same id?')
end
for i = 4, #ARGV, 500 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
redis.call('LTRIM', KEYS[1], n, -1)
return n
`;

/** One entry of a processing list. `seq` is undefined for an entry not written by a bridge. */
export interface ProcessingEntry {
  readonly seq: string | undefined;
  readonly raw: Buffer;
  /** The whole stored entry (`<seq>|<raw>`). */
  readonly entry: Buffer;
}

/** The processing list a bridge instance owns for one source list. */
export function processingListOf(sourceList: string, bridgeId: string): string {
  return `${sourceList}:processing:${bridgeId}`;
}

/** Splits a processing-list entry into its sequence number and the raw item bytes. */
export function parseProcessingEntry(entry: Buffer): ProcessingEntry {
  const at = entry.indexOf(SEPARATOR);
  if (at <= 0) return { seq: undefined, raw: entry, entry };
  const seq = entry.subarray(0, at).toString('latin1');
  if (!/^\d+$/.test(seq)) return { seq: undefined, raw: entry, entry };
  return { seq, raw: entry.subarray(at + 1), entry };
}

type TakeCommand = (source: string, processing: string, counter: string, max: number) => Promise<number>;
type SettleCommand = (
  processing: string,
  invalidList: string,
  count: number,
  first: Buffer,
  last: Buffer,
  ...invalidEntries: string[]
) => Promise<number>;

/** Atomic moves between the source, processing and invalid lists (see the file comment). */
export class LosslessListMoves {
  readonly #redis: Redis & { bridgeTake?: TakeCommand; bridgeSettle?: SettleCommand };

  /** `redis` is a command connection (not blocking); the script is defined on it once. */
  constructor(redis: Redis) {
    this.#redis = redis;
    if (typeof this.#redis.bridgeTake !== 'function') {
      redis.defineCommand('bridgeTake', { numberOfKeys: 3, lua: TAKE_SCRIPT });
      redis.defineCommand('bridgeSettle', { numberOfKeys: 2, lua: SETTLE_SCRIPT });
    }
  }

  /**
   * Moves up to `max` items from the left of `source` to the right of `processing`, numbered from
   * `counter` (INCRBY). Returns how many were moved (0 when the source is empty).
   */
  async take(source: string, processing: string, counter: string, max: number): Promise<number> {
    const take = this.#redis.bridgeTake as TakeCommand;
    return Number(await take.call(this.#redis, source, processing, counter, max));
  }

  /** The first `max` entries of the processing list, oldest first, as exact bytes. */
  async peek(processing: string, max: number): Promise<ProcessingEntry[]> {
    const entries = await this.#redis.lrangeBuffer(processing, 0, max - 1);
    return entries.map(parseProcessingEntry);
  }

  /**
   * In one script: checks that `batch` is still the head of `processing`, appends
   * `invalidEntries` to `invalidList` and removes the batch. The check makes a second bridge
   * started by mistake with the same id harmless: it cannot trim entries it has not bridged
   * (its step fails and is retried; BullMQ's id check absorbs the jobs both of them added).
   */
  async settle(
    processing: string,
    batch: readonly ProcessingEntry[],
    invalidList: string,
    invalidEntries: readonly string[],
  ): Promise<void> {
    const first = batch[0];
    const last = batch[batch.length - 1];
    if (!first || !last) return;
    const settle = this.#redis.bridgeSettle as SettleCommand;
    await settle.call(this.#redis, processing, invalidList, batch.length, first.entry, last.entry, ...invalidEntries);
  }

  /**
   * Blocks until `source` has an item or `timeoutSeconds` pass, without taking the item.
   * `blocking` must be a connection of its own with `maxRetriesPerRequest: null`.
   */
  static async waitForItems(blocking: Redis, source: string, timeoutSeconds: number): Promise<boolean> {
    const item = await blocking.blmoveBuffer(source, source, 'LEFT', 'LEFT', timeoutSeconds);
    return item !== null;
  }
}
