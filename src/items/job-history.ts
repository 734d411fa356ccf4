/** A job's history for `items history` and the lookup of jobs by the id an operator types. */
import path from 'node:path';
import { Job, type Queue } from 'bullmq';
import { jobIdForPayloadId } from '../bridge/job-id.js';
import { fileSafe, jobArtifactFiles } from '../workers/artifacts.js';

/**
 * The job an operator means by `typed`: a BullMQ job id as Bull Board shows it (`conferencia-000012`), or a
 * payload id, string first (`doc-1`, `7`), then number (`7`). Undefined when none exists.
 */
export async function findJob(queue: Queue, typed: string): Promise<Job | undefined> {
  for (const id of jobIdCandidates(typed)) {
    const job = await Job.fromId(queue, id);
    if (job) return job;
  }
  return undefined;
}

/** The job ids `typed` may mean, in the order {@link findJob} tries them. */
export function jobIdCandidates(typed: string): string[] {
  const candidates = [typed, jobIdForPayloadId(typed)];
  const asNumber = Number(typed);
  if (typed.trim() !== '' && Number.isFinite(asNumber)) candidates.push(jobIdForPayloadId(asNumber));
  return [...new Set(candidates)].filter((id) => !id.includes(':'));
}

/** Lines for people: state, scheduling, attempts with their errors, logs, screenshots. */
export async function jobHistoryLines(queue: Queue, job: Job, artifactsDir: string): Promise<string[]> {
  const iso = (ms: number | undefined): string => (ms ? new Date(ms).toISOString() : '-');
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as Record<string, unknown>;
  const state = await job.getState();
  const lines = [
    `job ${job.id ?? '?'} (fila ${queue.name}), estado: ${state}`,
    `  payload: ${JSON.stringify(data)}`,
    `  prioridade BullMQ: ${job.opts.priority ?? 0}; executarApos: ${JSON.stringify(data.executarApos ?? '-')}; prazo: ${JSON.stringify(data.prazo ?? '-')}`,
    `  criado: ${iso(job.timestamp)}; disponível: ${iso(job.timestamp + (job.delay || 0))}; ` +
      `última tentativa iniciada: ${iso(job.processedOn)}; terminado: ${iso(job.finishedOn)}`,
    `  tentativas: ${job.attemptsMade} de ${job.opts.attempts ?? 1}`,
  ];
  const errors = job.stacktrace ?? [];
  errors.forEach((stack, i) => lines.push(`  erro ${i + 1}: ${stack.split('\n')[0] ?? stack}`));
  if (job.failedReason) lines.push(`  motivo da falha: ${job.failedReason}`);
  if (job.returnvalue !== null && job.returnvalue !== undefined) {
    lines.push(`  resultado: ${JSON.stringify(job.returnvalue)}`);
  }
  const { logs } = await queue.getJobLogs(job.id ?? '', 0, -1);
  for (const log of logs) lines.push(`  log: ${log}`);
  // Matched by the exact job id: the files of job `x-attempt1` are not those of job `x`.
  const shots = await jobArtifactFiles({
    artifactsDir,
    queue: queue.name,
    jobId: job.id ?? '',
    attempts: job.attemptsMade,
    kinds: ['png', 'json'],
    mentions: [job.failedReason ?? '', ...logs].join('\n'),
  });
  for (const file of shots) lines.push(`  artefato: ${path.join(artifactsDir, file)}`);
  if (shots.length === 0) lines.push(`  artefatos: nenhum em ${path.join(artifactsDir, fileSafe(queue.name))}`);
  return lines;
}
