import path from 'node:path';
import type { Job, Queue } from 'bullmq';
import { jobArtifactFiles } from '../workers/artifacts.js';

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
  /** Where screenshots live: `<artifactsDir>/<queue>/<job stem>-attempt<k>.png` (workers/artifacts.ts). */
  readonly artifactsDir: string;
  /** URL path the artifacts are served under. @defaultValue '/artifacts' */
  readonly urlPrefix?: string;
  /** @defaultValue 10 */
  readonly perQueue?: number;
}

/** Text of the job where its worker named its screenshots (never its payload or result). */
async function jobMentions(queue: Queue, job: Job): Promise<string> {
  const logs = job.id === undefined ? { logs: [] } : await queue.getJobLogs(job.id, 0, 49).catch(() => ({ logs: [] }));
  return [job.failedReason ?? '', ...(job.stacktrace ?? []), ...logs.logs].join('\n');
}

/**
 * The latest failed jobs of each queue (BullMQ's failed set) with links to their screenshots,
 * matched to each job by its exact id ({@link jobArtifactFiles}): only the files those jobs can
 * have are looked up, the artifacts folder is never listed.
 */
export async function recentFailures(options: RecentFailuresOptions): Promise<FailureView[]> {
  const prefix = options.urlPrefix ?? '/artifacts';
  const perQueue = options.perQueue ?? 10;
  const perQueueViews = await Promise.all(
    options.queues.map(async (queue) => {
      const jobs = (await queue.getFailed(0, perQueue - 1)).filter((j): j is Job => Boolean(j));
      return Promise.all(
        jobs.map(async (job): Promise<FailureView> => {
          const id = String(job.id ?? '');
          const files = await jobArtifactFiles({
            artifactsDir: options.artifactsDir,
            queue: queue.name,
            jobId: id,
            attempts: job.attemptsMade,
            kinds: ['png'],
            mentions: await jobMentions(queue, job),
          });
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
