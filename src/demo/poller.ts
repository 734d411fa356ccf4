/**
 * The demo poller: plays the legacy poller's part (CONTRACT.md "Redis keys") by RPUSHing the seed's
 * scenario, 322 conferência and 3 emissão jobs by default, into the source lists.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { EMISSAO_TYPES, type EmissaoType } from '../flows/emissao.js';

/** Options for {@link pushScenario} and {@link scenarioJobs}. */
export interface DemoPollerOptions {
  /** Goes into every job id, so the writer can tell this run's results from others'. */
  readonly runId: string;
  /** @defaultValue 322 (the seed's scenario) */
  readonly conferenciaCount?: number;
  /** @defaultValue 3 (the seed's scenario) */
  readonly emissaoCount?: number;
  /** @defaultValue 'fila:conferencia' */
  readonly conferenciaList?: string;
  /** @defaultValue 'fila:emissao' */
  readonly emissaoList?: string;
  /** Most items in one RPUSH. @defaultValue 500 */
  readonly batchSize?: number;
}

export const DEFAULT_CONFERENCIA_COUNT = 322;
export const DEFAULT_EMISSAO_COUNT = 3;

/** A short id unique enough for one machine's demo runs, e.g. `m1x2k3-4f9a`. */
export function newRunId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(2).toString('hex')}`;
}

/** One job the poller pushes: the list it goes to and its JSON payload. */
export interface ScenarioJob {
  readonly list: string;
  readonly payload: {
    readonly id: string;
    readonly documento: string;
    readonly tipo?: EmissaoType;
    readonly observacoes?: string;
  };
}

export interface PushSummary {
  readonly runId: string;
  readonly conferencia: number;
  readonly emissao: number;
  readonly ids: readonly string[];
}

/** Prefix of every job id of run `runId`; the writer counts only results whose id starts with it. */
export function runIdPrefix(runId: string): string {
  return `demo-${runId}-`;
}

/**
 * A document number the demo portal knows (8+ digits, never the "not found" prefix 404), distinct
 * for every `n`, so each job looks up a different document.
 */
export function demoDocumentNumber(n: number): string {
  return String(10_000_000 + n);
}

/** The scenario's jobs, conferência first, in push order; pure. */
export function scenarioJobs(options: DemoPollerOptions): ScenarioJob[] {
  const conferenciaList = options.conferenciaList ?? 'fila:conferencia';
  const emissaoList = options.emissaoList ?? 'fila:emissao';
  const prefix = runIdPrefix(options.runId);
  const jobs: ScenarioJob[] = [];
  for (let n = 1; n <= (options.conferenciaCount ?? DEFAULT_CONFERENCIA_COUNT); n++) {
    jobs.push({ list: conferenciaList, payload: { id: `${prefix}conf-${n}`, documento: demoDocumentNumber(n) } });
  }
  const tipos = Object.keys(EMISSAO_TYPES) as EmissaoType[];
  for (let n = 1; n <= (options.emissaoCount ?? DEFAULT_EMISSAO_COUNT); n++) {
    jobs.push({
      list: emissaoList,
      payload: {
        id: `${prefix}emis-${n}`,
        documento: demoDocumentNumber(500_000 + n),
        tipo: tipos[(n - 1) % tipos.length] ?? 'certidao',
        observacoes: `Demo ${options.runId}, pedido ${n}`,
      },
    });
  }
  return jobs;
}

/** RPUSHes the scenario in batches (one round trip per batch), list by list, in order. */
export async function pushScenario(redis: Redis, options: DemoPollerOptions): Promise<PushSummary> {
  const jobs = scenarioJobs(options);
  const batchSize = Math.max(1, options.batchSize ?? 500);
  let i = 0;
  while (i < jobs.length) {
    const list = jobs[i]?.list ?? '';
    const batch: string[] = [];
    while (i < jobs.length && batch.length < batchSize && jobs[i]?.list === list) {
      batch.push(JSON.stringify(jobs[i]?.payload));
      i += 1;
    }
    await redis.rpush(list, ...batch);
  }
  const conferencia = options.conferenciaCount ?? DEFAULT_CONFERENCIA_COUNT;
  return {
    runId: options.runId,
    conferencia,
    emissao: jobs.length - conferencia,
    ids: jobs.map((j) => j.payload.id),
  };
}
