/** The items tool's commands on failed BullMQ jobs: `retry` and `history`. */
import type { Queue } from 'bullmq';
import { coerceError } from '../lib/errors.js';
import { confirmed, UsageError, type Ctx, type Values } from './command-context.js';
import type { CompletedJobIds } from '../workers/completed-ids.js';
import { findJob, jobHistoryLines, jobIdCandidates } from './job-history.js';

/** Retries failed jobs (by payload or job id, or `--all`) after confirmation. */
export async function retry(ctx: Ctx, queue: Queue, ids: string[], values: Values): Promise<number> {
  if (values.all && ids.length > 0) throw new UsageError('use ids ou --all, não os dois');
  if (!values.all && ids.length === 0) throw new UsageError('diga quais jobs (ids) ou --all');
  const jobs = values.all ? await queue.getFailed(0, -1) : [];
  let missing = 0;
  for (const id of ids) {
    const job = await findJob(queue, id);
    if (!job) {
      ctx.io.err(`job ${id}: não encontrado na fila ${queue.name}`);
      missing++;
    } else if (!(await job.isFailed())) {
      ctx.io.err(`job ${id}: não está falho (estado ${await job.getState()}); ignorado`);
      missing++;
    } else jobs.push(job);
  }
  if (jobs.length === 0) {
    ctx.io.out('nenhum job falho a tentar de novo');
    return missing > 0 ? 1 : 0;
  }
  ctx.io.out(`Vou tentar de novo ${jobs.length} job(s) falho(s) da fila ${queue.name} (mesma prioridade e id):`);
  for (const job of jobs) ctx.io.out(`  ${job.id ?? '?'}: ${job.failedReason}`);
  if (!(await confirmed(ctx, values))) return 1;
  let retried = 0;
  for (const job of jobs) {
    try {
      await job.retry('failed');
      retried++;
    } catch (err) {
      ctx.io.err(`job ${job.id ?? '?'}: ${coerceError(err).message}`);
    }
  }
  ctx.io.out(`${retried} job(s) de volta à fila ${queue.name}`);
  return retried === jobs.length && missing === 0 ? 0 : 1;
}

/** Prints a job's attempts, errors, logs and screenshots. */
export async function history(
  ctx: Ctx,
  queue: Queue,
  id: string | undefined,
  completedIds: CompletedJobIds,
): Promise<number> {
  if (id === undefined) throw new UsageError('falta o id do job');
  const job = await findJob(queue, id);
  if (!job) {
    const remembered = await completedIds.completed(jobIdCandidates(id));
    ctx.io.err(
      remembered.size > 0
        ? `job ${id}: concluído; o job inteiro já foi removido (jobs.keepCompletedJobSeconds), só o id é guardado ` +
            `(duplicatas, até jobs.keepCompletedSeconds)`
        : `job ${id}: não encontrado na fila ${queue.name} (terminados são guardados por jobs.keep*Seconds)`,
    );
    return 1;
  }
  for (const line of await jobHistoryLines(queue, job, ctx.config.artifactsDir)) ctx.io.out(line);
  return 0;
}
