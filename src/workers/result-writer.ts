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
}
