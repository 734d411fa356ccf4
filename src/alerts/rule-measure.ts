/**
 * What an alert rule measures, pure: the value a rule compares with its threshold, from a status
 * snapshot or the pool's counts. No clock, no I/O; the monitor and its ledger keep the time-based
 * state.
 */
import type { AlertRule } from '../config/types.js';
import type { OutcomeCounts } from '../shared/pool-history.js';
import type { ServiceStatus } from '../shared/status.js';

/** One measurement of one rule. */
export interface RuleMeasure {
  readonly value: number;
  /** value > threshold. */
  readonly above: boolean;
  /** For people: what was measured, in the operators' language. */
  readonly detail: string;
}

/** `queue` of a rule as the messages name it. */
export function ruleScope(rule: AlertRule): string {
  return rule.queue === '' ? 'todas as filas' : rule.queue;
}

/**
 * Sum of `pick` over the rule's queue, or over all queues when its queue is empty; undefined when
 * the queue is not in the status (a misspelt rule never fires, the monitor says so once).
 */
function sumOver(
  rule: AlertRule,
  status: ServiceStatus,
  pick: (q: ServiceStatus['queues'][number]) => number,
): number | undefined {
  if (rule.queue === '') return status.queues.reduce((sum, q) => sum + pick(q), 0);
  const queue = status.queues.find((q) => q.name === rule.queue);
  return queue === undefined ? undefined : pick(queue);
}

/** workersAbove: live worker units. */
export function measureWorkers(rule: AlertRule, status: ServiceStatus): RuleMeasure | undefined {
  const value = sumOver(rule, status, (q) => q.workers);
  if (value === undefined) return undefined;
  return { value, above: value > rule.threshold, detail: `${value} worker(s) ativo(s) (limite ${rule.threshold})` };
}

/** backlogAbove: pending jobs now (the monitor adds the "for forSeconds" part). */
export function measureBacklog(rule: AlertRule, status: ServiceStatus): RuleMeasure | undefined {
  const value = sumOver(rule, status, (q) => q.pending);
  if (value === undefined) return undefined;
  return { value, above: value > rule.threshold, detail: `${value} jobs pendentes (limite ${rule.threshold})` };
}

/**
 * bridgeStuckAbove: seconds the longest-stuck bridge of the rule's queues has been stuck, over the
 * pool's instances (`stuck`: queue → seconds).
 */
export function measureBridgeStuck(rule: AlertRule, stuck: Readonly<Record<string, number>>): RuleMeasure | undefined {
  const queues = Object.keys(stuck).filter((q) => rule.queue === '' || q === rule.queue);
  if (queues.length === 0 && rule.queue !== '') return undefined;
  const worst = queues.reduce<string | undefined>(
    (a, q) => (a === undefined || (stuck[q] ?? 0) > (stuck[a] ?? 0) ? q : a),
    undefined,
  );
  const value = worst === undefined ? 0 : (stuck[worst] ?? 0);
  return {
    value,
    above: value > rule.threshold,
    detail: `ponte da fila ${worst ?? '-'} parada há ${value}s, lote falhando com o Redis no ar (limite ${rule.threshold}s)`,
  };
}

/**
 * invalidListFillAbove: the fullest invalid list of the rule's queues, as a ratio of its bounds
 * (entries or bytes, whichever is nearer): 1 means its oldest entries are being dropped.
 */
export function measureInvalidListFill(rule: AlertRule, status: ServiceStatus): RuleMeasure | undefined {
  const queues = rule.queue === '' ? status.queues : status.queues.filter((q) => q.name === rule.queue);
  if (queues.length === 0 && rule.queue !== '') return undefined;
  const fullest = queues.reduce<ServiceStatus['queues'][number] | undefined>(
    (a, q) => (a === undefined || (q.invalidList?.fill ?? 0) > (a.invalidList?.fill ?? 0) ? q : a),
    undefined,
  );
  const list = fullest?.invalidList;
  const value = list?.fill ?? 0;
  const pct = (n: number): string => `${Math.round(n * 1000) / 10}%`;
  return {
    value,
    above: value > rule.threshold,
    detail: list
      ? `lista de inválidos da fila ${fullest.name} em ${pct(value)} do limite (${list.items}/${list.maxItems} entradas, ` +
        `${list.bytes}/${list.maxBytes} bytes); no limite as entradas mais antigas são apagadas (limite ${pct(rule.threshold)})`
      : 'tamanho da lista de inválidos desconhecido',
  };
}

/**
 * invalidAbove: items sent to the invalid list in the window by the whole pool (a poller pushing
 * bad items). The count of a minute the window covers in part is prorated: shown rounded.
 */
export function measureInvalid(rule: AlertRule, counts: OutcomeCounts, windowSeconds: number): RuleMeasure {
  const value = Math.round(counts.invalid);
  return {
    value,
    above: value > rule.threshold,
    detail: `${value} item(ns) enviado(s) à lista de inválidos nos últimos ${windowSeconds}s (limite ${rule.threshold})`,
  };
}

/**
 * failureRatioAbove: failed attempts (final errors and retries) over all attempts in the window.
 * Counting attempts, not only final errors, makes a broken portal visible before the retries run
 * out. No attempts: ratio 0, never above.
 */
export function measureFailureRatio(rule: AlertRule, counts: OutcomeCounts, windowSeconds: number): RuleMeasure {
  const failed = counts.error + counts.retry;
  const total = failed + counts.ok;
  const value = total === 0 ? 0 : failed / total;
  const pct = (n: number): string => `${Math.round(n * 1000) / 10}%`;
  return {
    value,
    above: total > 0 && value > rule.threshold,
    detail: `${pct(value)} de falhas (${Math.round(failed)}/${Math.round(total)} tentativas) nos últimos ${windowSeconds}s (limite ${pct(rule.threshold)})`,
  };
}

/**
 * deadlineAtRisk: items expected to start after their deadline (`prazo`) at the queue's drain
 * rate (the status computes it: service/deadline-risk.ts). Names the earliest deadline at risk.
 */
export function measureDeadlineRisk(rule: AlertRule, status: ServiceStatus): RuleMeasure | undefined {
  const queues = rule.queue === '' ? status.queues : status.queues.filter((q) => q.name === rule.queue);
  if (queues.length === 0 && rule.queue !== '') return undefined;
  const atRisk = queues.filter((q) => q.deadlines.atRisk > 0);
  const value = atRisk.reduce((sum, q) => sum + q.deadlines.atRisk, 0);
  const earliest = atRisk
    .map((q) => q.deadlines.earliestAtRisk)
    .filter((t): t is string => t !== null)
    .sort()[0];
  const where =
    rule.queue === '' && atRisk.length > 0
      ? ` (${atRisk.map((q) => `${q.name}: ${q.deadlines.atRisk}`).join(', ')})`
      : '';
  const pace = atRisk
    .map((q) =>
      q.deadlines.drainPerMinute === null
        ? `${q.name}: ritmo ainda desconhecido`
        : `${q.name} drena ~${q.deadlines.drainPerMinute}/min`,
    )
    .join(', ');
  return {
    value,
    above: value > rule.threshold,
    detail:
      value === 0
        ? 'nenhum item com prazo em risco'
        : `${value} item(ns) com prazo em risco${where}; prazo mais próximo ${earliest ?? '?'}; ${pace} (limite ${rule.threshold})`,
  };
}
