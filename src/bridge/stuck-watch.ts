/** Whether a queue's bridge is stuck (its batch keeps failing while Redis answers), and the lines that say so. */
import type { QueueConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import { boundedFragment } from './fragment.js';

/** What {@link StuckWatch} reads and writes. */
export interface StuckWatchOptions {
  readonly queue: QueueConfig;
  readonly processingList: string;
  /** Where `stuckSince` and `stuckReason` are kept (read by metrics and alerts). */
  readonly stats: { stuckSince: number | undefined; stuckReason: string };
  readonly logger: Logger;
  readonly retryDelayMs: number;
  /** ms since epoch. */
  readonly clock: () => number;
  /** A stuck bridge logs an error at most this often. @defaultValue 60000 */
  readonly stuckLogEveryMs?: number;
}

/** Records since when a bridge is stuck, logs `[PONTE PARADA]` at most once a minute and `[PONTE LIBERADA]` once it moves. */
export class StuckWatch {
  readonly #o: StuckWatchOptions;
  #lastStuckLog: number | undefined;

  constructor(options: StuckWatchOptions) {
    this.#o = options;
  }

  /** The batch in hand failed while Redis answers: record since when, log at most once a minute. */
  stuck(err: Error): void {
    const { stats, logger, queue, processingList } = this.#o;
    const now = this.#o.clock();
    if (stats.stuckSince === undefined || stats.stuckSince > now) stats.stuckSince = now;
    stats.stuckReason = boundedFragment(err.message);
    const every = this.#o.stuckLogEveryMs ?? 60_000;
    const last = this.#lastStuckLog;
    if (last === undefined || now - last >= every || now < last) {
      this.#lastStuckLog = now;
      const seconds = Math.floor((now - stats.stuckSince) / 1000);
      logger.error(
        `[PONTE PARADA] ${queue.name}: o lote em ${processingList} não avança há ${seconds}s (Redis responde); ` +
          `nova tentativa a cada ${this.#o.retryDelayMs} ms: ${stats.stuckReason}`,
      );
    } else {
      logger.debug(`lote da ponte ainda falhando: ${stats.stuckReason}`);
    }
  }

  /** The bridge moves again (or has nothing to move): no longer stuck. */
  moving(): void {
    const { stats, logger, queue } = this.#o;
    if (stats.stuckSince === undefined) return;
    const seconds = Math.floor((this.#o.clock() - stats.stuckSince) / 1000);
    logger.info(`[PONTE LIBERADA] ${queue.name}: a ponte voltou a andar após ${seconds}s parada`);
    stats.stuckSince = undefined;
    stats.stuckReason = '';
    this.#lastStuckLog = undefined;
  }
}
