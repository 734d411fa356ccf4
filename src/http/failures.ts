import fs from 'node:fs/promises';
import path from 'node:path';
import type { Job, Queue } from 'bullmq';
import { fileSafe } from '../workers/artifacts.js';

/** One failed job as the dashboard lists it. */
export interface FailureView {
  readonly queue: string;
  readonly id: string;
  readonly reason: string;
  readonly attemptsMade: number;
  /** ms since epoch. */
  readonly failedAt: number | null;
  /** URLs (under `urlPrefix`) of the attempt screenshots found for the job. */
  readonly screenshots: readonly string[];
}

/** Options for {@link recentFailures}. */
export interface RecentFailuresOptions {
  readonly queues: readonly Queue[];
  /** Where screenshots live: `<artifactsDir>/<queue>/<jobId>-attempt<k>.png`. */
  readonly artifactsDir: string;
  /** URL path the artifacts are served under. @defaultValue '/artifacts' */
  readonly urlPrefix?: string;
  /** @defaultValue 10 */
  readonly perQueue?: number;
}

const PNG_PATH = /[^\s"'[\];,()<>]+\.png\b/g;

/** Every `.png` path mentioned in `text` that resolves inside `root`, as paths relative to it. */
export function pngPathsUnder(text: string, root: string): string[] {
  const out = new Set<string>();
  for (const [candidate] of text.matchAll(PNG_PATH)) {
    // Absolute, relative to the working directory (how a relative artifactsDir is written), or relative to root.
    for (const abs of [path.resolve(candidate), path.resolve(root, candidate)]) {
      const rel = path.relative(root, abs);
      if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) {
        out.add(rel);
        break;
      }
    }
  }
  return [...out];
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}

/** Text of the job where a worker may have named its screenshots. */
async function jobTexts(queue: Queue, job: Job): Promise<string> {
  const logs = job.id === undefined ? { logs: [] } : await queue.getJobLogs(job.id, 0, 49).catch(() => ({ logs: [] }));
  const safe = (v: unknown): string => {
    try {
      return JSON.stringify(v) ?? '';
    } catch {
      return '';
    }
  };
  return [job.failedReason ?? '', ...(job.stacktrace ?? []), ...logs.logs, safe(job.returnvalue), safe(job.data)].join(
    '\n',
  );
}

/**
 * The latest failed jobs of each queue (BullMQ's failed set) with links to their screenshots:
 * the `.png` paths under artifactsDir that the job's failedReason, logs, data or return value
 * mention, plus the files that follow the `<queue>/<jobId>-attempt<k>.png` naming on disk.
 * Only existing files under artifactsDir are linked.
 */
export async function recentFailures(options: RecentFailuresOptions): Promise<FailureView[]> {
  const root = path.resolve(options.artifactsDir);
  const prefix = options.urlPrefix ?? '/artifacts';
  const perQueue = options.perQueue ?? 10;
  const perQueueViews = await Promise.all(
    options.queues.map(async (queue) => {
      const jobs = (await queue.getFailed(0, perQueue - 1)).filter((j): j is Job => Boolean(j));
      const queueDir = fileSafe(queue.name);
      const onDisk = await listDir(path.join(root, queueDir));
      return Promise.all(
        jobs.map(async (job): Promise<FailureView> => {
          const id = String(job.id ?? '');
          const named = pngPathsUnder(await jobTexts(queue, job), root);
          const byName = onDisk
            .filter((f) => f.startsWith(`${fileSafe(id)}-attempt`) && f.endsWith('.png'))
            .map((f) => path.join(queueDir, f));
          const files: string[] = [];
          for (const rel of [...new Set([...named, ...byName])].sort()) {
            if (await exists(path.join(root, rel))) files.push(rel);
          }
          return {
            queue: queue.name,
            id,
            reason: job.failedReason ?? '',
            attemptsMade: job.attemptsMade,
            failedAt: job.finishedOn ?? null,
            screenshots: files.map((rel) => `${prefix}/${rel.split(path.sep).map(encodeURIComponent).join('/')}`),
          };
        }),
      );
    }),
  );
  return perQueueViews.flat();
}
