/**
 * Retention of the artifacts folder (screenshots and notes of failing attempts, receipts flows
 * save): files older than the failed jobs they belong to are kept (`jobs.keepFailedSeconds`) are
 * deleted, and past `artifacts.maxMb` in all the oldest go first. Runs at start and then on an
 * interval; a sweep that fails is logged and tried again at the next one, never fatal.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { coerceError } from '../lib/errors.js';
import { systemClock, type Clock } from '../lib/sleep.js';
import type { Logger } from '../logging/logger.js';

/** One regular file under the folder. */
export interface ArtifactFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** What one sweep decided to delete. */
export interface SweepPlan {
  /** Older than the age bound. */
  readonly byAge: readonly ArtifactFile[];
  /** The oldest of the rest, while the folder is over its size bound. */
  readonly bySize: readonly ArtifactFile[];
}

/**
 * Which files to delete: every file last written before `now - maxAgeMs`, then, oldest first,
 * as many of the others as it takes to bring their total to `maxBytes` or below (0: no size
 * bound). Pure.
 */
export function planSweep(files: readonly ArtifactFile[], now: number, maxAgeMs: number, maxBytes: number): SweepPlan {
  const cutoff = now - maxAgeMs;
  const byAge = files.filter((f) => f.mtimeMs < cutoff);
  const rest = files.filter((f) => f.mtimeMs >= cutoff).sort((a, b) => a.mtimeMs - b.mtimeMs);
  const bySize: ArtifactFile[] = [];
  if (maxBytes > 0) {
    let total = rest.reduce((sum, f) => sum + f.size, 0);
    for (const file of rest) {
      if (total <= maxBytes) break;
      bySize.push(file);
      total -= file.size;
    }
  }
  return { byAge, bySize };
}

/** What a sweep did. */
export interface SweepReport {
  readonly files: number;
  readonly deletedByAge: number;
  readonly deletedBySize: number;
  /** Files that were to be deleted and could not be (logged). */
  readonly failed: number;
  readonly freedBytes: number;
  /** Bytes left in the folder. */
  readonly keptBytes: number;
}

/** Options for {@link ArtifactSweeper}. */
export interface ArtifactSweeperOptions {
  /** The artifacts folder (`artifactsDir`); a folder that does not exist is empty. */
  readonly dir: string;
  /** Files older than this are deleted (`jobs.keepFailedSeconds`). */
  readonly maxAgeMs: number;
  /** Most bytes the folder may hold, oldest files deleted first (`artifacts.maxMb`); 0: no bound. */
  readonly maxBytes: number;
  /** Time between two sweeps (`artifacts.sweepIntervalSeconds`). */
  readonly intervalMs: number;
  readonly logger: Logger;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
}

/** Sweeps the artifacts folder at start and on an interval; see the file comment. */
export class ArtifactSweeper {
  readonly #options: ArtifactSweeperOptions;
  readonly #clock: Clock;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SweepReport | undefined> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(options: ArtifactSweeperOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Sweeps now, then every `intervalMs`. Idempotent; does nothing once closed. */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    void this.sweep();
    this.#timer = setInterval(() => void this.sweep(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /**
   * One sweep (or the one already running). Resolves with what it did, or undefined when it
   * failed (logged) or the sweeper is closed; never rejects.
   */
  sweep(): Promise<SweepReport | undefined> {
    if (this.#closing) return Promise.resolve(undefined);
    this.#running ??= this.#sweepOnce().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the interval and waits for a sweep under way. Idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= this.#doClose());
  }

  async #doClose(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #sweepOnce(): Promise<SweepReport | undefined> {
    const { dir, maxAgeMs, maxBytes, logger } = this.#options;
    try {
      const files = await listFiles(dir);
      const plan = planSweep(files, this.#clock(), maxAgeMs, maxBytes);
      const byAge = await deleteAll(plan.byAge);
      const bySize = await deleteAll(plan.bySize);
      const freed = [...byAge.deleted, ...bySize.deleted].reduce((sum, f) => sum + f.size, 0);
      const total = files.reduce((sum, f) => sum + f.size, 0);
      const report: SweepReport = {
        files: files.length,
        deletedByAge: byAge.deleted.length,
        deletedBySize: bySize.deleted.length,
        failed: byAge.failed + bySize.failed,
        freedBytes: freed,
        keptBytes: total - freed,
      };
      const error = byAge.error ?? bySize.error;
      if (error) {
        logger.warn(`artefatos: ${report.failed} arquivo(s) de ${dir} não puderam ser apagados: ${error.message}`);
      }
      if (report.deletedByAge + report.deletedBySize > 0) {
        logger.info(
          `artefatos: ${report.deletedByAge + report.deletedBySize} arquivo(s) apagado(s) de ${dir} ` +
            `(${mb(freed)} MB; ${report.deletedByAge} com mais de ${Math.round(maxAgeMs / 1000)}s, ` +
            `${report.deletedBySize} acima do limite de ${mb(maxBytes)} MB); ficam ${mb(report.keptBytes)} MB`,
        );
      }
      return report;
    } catch (err) {
      logger.warn(
        `artefatos: falha ao limpar ${dir}: ${coerceError(err).message}; nova tentativa na próxima varredura`,
      );
      return undefined;
    }
  }
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** Every regular file under `dir`, at any depth (symbolic links are neither followed nor counted). */
async function listFiles(dir: string): Promise<ArtifactFile[]> {
  const out: ArtifactFile[] = [];
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    let entries;
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch (err) {
      // The folder (or one another instance just emptied) is not there: nothing to sweep in it.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) {
        const stat = await fs.lstat(full).catch(() => undefined); // gone meanwhile: skipped
        if (stat?.isFile()) out.push({ path: full, size: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
  }
  return out;
}

/**
 * Deletes the files, each on its own: one that cannot be deleted is counted and the rest still
 * go; one already gone (another instance sharing the folder) is neither.
 */
async function deleteAll(
  files: readonly ArtifactFile[],
): Promise<{ deleted: ArtifactFile[]; failed: number; error?: Error }> {
  const deleted: ArtifactFile[] = [];
  let failed = 0;
  let error: Error | undefined;
  for (const file of files) {
    try {
      await fs.unlink(file.path);
      deleted.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      failed += 1;
      error ??= coerceError(err);
    }
  }
  return { deleted, failed, ...(error ? { error } : {}) };
}
