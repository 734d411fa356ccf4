import type { Redis } from 'ioredis';
import type { ReplicaWait } from '../redis/replica-wait.js';
import { buildResultEntry, type ResultEntryInput } from './result-entry.js';

/** Options of {@link ResultWriter}. */
export interface ResultWriterOptions {
  /**
   * Each entry waits for the replicas (WAIT) before `write` resolves, so it survives a failover
   * once the job completes (redis/replica-wait.ts). @defaultValue none
   */
  readonly replicas?: ReplicaWait;
}

/** The one writer of result entries (CONTRACT.md "Result entry"): RPUSH to the queue's result list. */
export class ResultWriter {
  readonly #redis: Redis;
  readonly #list: string;
  readonly #replicas: ReplicaWait | undefined;

  constructor(redis: Redis, resultList: string, options: ResultWriterOptions = {}) {
    this.#redis = redis;
    this.#list = resultList;
    this.#replicas = options.replicas;
  }

  async write(input: ResultEntryInput): Promise<void> {
    await this.#redis.rpush(this.#list, JSON.stringify(buildResultEntry(input)));
    await this.#replicas?.confirm(this.#redis, 'uma entrada de resultado');
  }
}
