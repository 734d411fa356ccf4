import type { Redis } from 'ioredis';
import { buildResultEntry, type ResultEntryInput } from './result-entry.js';

/** The one writer of result entries (CONTRACT.md "Result entry"): RPUSH to the queue's result list. */
export class ResultWriter {
  readonly #redis: Redis;
  readonly #list: string;

  constructor(redis: Redis, resultList: string) {
    this.#redis = redis;
    this.#list = resultList;
  }

  async write(input: ResultEntryInput): Promise<void> {
    await this.#redis.rpush(this.#list, JSON.stringify(buildResultEntry(input)));
  }

  /**
   * Writes the entry unless `marker.key` exists: the marker (`SET NX EX`) and the RPUSH are one
   * Lua script, so however many processes write the same entry, exactly one lands. Returns
   * whether this call wrote it.
   */
  async writeOnce(input: ResultEntryInput, marker: { key: string; ttlSeconds: number }): Promise<boolean> {
    const written = await this.#redis.eval(
      WRITE_ONCE_SCRIPT,
      2,
      marker.key,
      this.#list,
      JSON.stringify(buildResultEntry(input)),
      String(Math.max(1, Math.ceil(marker.ttlSeconds))),
    );
    return written === 1;
  }
}

const WRITE_ONCE_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
`;
