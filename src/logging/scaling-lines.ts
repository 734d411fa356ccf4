/**
 * The seed's scaling log lines, formatted in one place. They are part of the operator contract
 * (CONTRACT.md "Logs"): operators grep for the tags. The decisions hand their reasons over as data
 * (src/shared/scaling-reason.ts); the words are made here.
 */
import type { CapacityLimit, KneeLevel, OverloadReason, PlanReason, RuleReason } from '../shared/scaling-reason.js';

/** `split`: with several instances, which got which units (`maq-a +3, maq-b +2`). */
export function scaleUpLine(queue: string, pending: number, from: number, to: number, split = ''): string {
  return `[ESCALAR] ${queue}: ${pending} jobs → criando ${to - from} worker(s) (total: ${from} → ${to}${split ? `; ${split}` : ''})`;
}

export function equilibriumLine(queue: string, pending: number, current: number): string {
  return `[EQUILIBRIO] ${queue}: ${pending} jobs → ${current} worker(s) ativo(s). Sem mudanças.`;
}

export function scaleDownLine(queue: string, pending: number, from: number, to: number, split = ''): string {
  return `[REDUZIR] ${queue}: ${pending} jobs → ${from - to} worker(s) em excesso (total: ${from} → ${to}${split ? `; ${split}` : ''}). Workers finalizarão quando jobs terminarem.`;
}

export function workerStartedLine(worker: string, queue: string, total: number): string {
  return `[INFO] Worker '${worker}' iniciado. Total de ${queue}: ${total}`;
}

export function workerStoppedLine(worker: string, queue: string, total: number): string {
  return `[INFO] Worker '${worker}' finalizado. Total de ${queue}: ${total}`;
}

/** 1.25 → "1,3"; 2 → "2" (pt-BR, one decimal). */
function num(value: number, decimals = 1): string {
  return value.toLocaleString('pt-BR', { maximumFractionDigits: decimals });
}

const pct = (ratio: number): string => `${Math.round(ratio * 100)}%`;

/** How the rule sized the queue: `ceil(322/50) limitado a [mín, máx] = 7` or `322 jobs × 1,3 s ÷ 60 s → 7`. */
export function ruleText(rule: RuleReason): string {
  if (rule.kind === 'fixed')
    return `ceil(${rule.pending}/${rule.jobsPerWorker}) limitado a [mín, máx] = ${rule.workers}`;
  const left = rule.secondsLeft > 0 ? `${num(rule.secondsLeft, 0)} s` : 'prazo vencido';
  const clamp = rule.workers === rule.maxWorkers || rule.workers === rule.minWorkers ? ' (limitado a [mín, máx])' : '';
  return `${rule.pending} jobs × ${num(rule.jobSeconds, 2)} s ÷ ${left} → ${rule.workers}${clamp}; divisor aprendido, meta ${rule.targetDrainSeconds} s`;
}

/** What bounds capacity: `CPU: 0,8 de 2 núcleos livres (1,1 usados por outros processos), 0,7 núcleo por worker`. */
export function capacityLimitText(limit: CapacityLimit): string {
  switch (limit.signal) {
    case 'cpu':
      return (
        `CPU: ${num(limit.freeCores)} de ${num(limit.cores)} núcleos livres` +
        `${limit.otherCores >= 0.05 ? ` (${num(limit.otherCores)} usados por outros processos)` : ''}` +
        `, ${num(limit.perUnit, 2)} núcleo por worker`
      );
    case 'memory':
      return `memória ${num(limit.usedMb / 1024)} de ${num(limit.limitMb / 1024)} GB (~${Math.round(limit.unitMb)} MB por navegador)`;
    case 'memoryBudget':
      return `orçamento de memória ${limit.budgetMb} MB (~${Math.round(limit.unitMb)} MB por navegador)`;
    case 'maxUnits':
      return `capacity.maxUnits ${limit.maxUnits}`;
    case 'pool':
      return `soma das capacidades de ${limit.instances} instâncias (${limit.units})`;
    case 'none':
      return 'CPU por worker ainda não medida';
  }
}

/** Why the start gate is closed: `CPU ≥ 95% em 100% das amostras de 5s (2 núcleos)`. */
export function overloadText(o: OverloadReason): string {
  switch (o.signal) {
    case 'memory':
      return `memória ${pct(o.ratio)} do limite`;
    case 'cpu':
      return `CPU ≥ ${pct(o.maxCpuRatio)} em ${pct(o.share)} das amostras de ${o.windowSeconds}s (${num(o.cores)} núcleos)`;
    case 'eventLoop':
      return `atraso do event loop ${Math.round(o.delayMs)} ms`;
  }
}

const kneeLevel = (l: KneeLevel): string => `${l.workers} → ${Math.round(l.perMinute)}/min`;

/** The operator's words for a decision's reason (the `reason` of the decision history and of `[ESCALAR]` lines). */
export function planReasonText(reason: PlanReason): string {
  switch (reason.kind) {
    case 'rule':
      return ruleText(reason.rule);
    case 'total':
      return `a regra pede ${reason.wanted}; o teto total ${reason.maxTotalWorkers}, repartido entre as filas, dá ${reason.given}`;
    case 'capacity':
      return `a regra pede ${reason.wanted}; limitado pela capacidade: ${capacityLimitText(reason.limit)} → ${reason.given}`;
    case 'overload':
      return `a regra pede ${reason.wanted}; máquina sobrecarregada (${reason.overload ? overloadText(reason.overload) : 'sobrecarga'}): nenhum worker novo${reason.firstOnly ? ' além do primeiro' : ''}`;
    case 'stabilizing':
      return `excesso de ${reason.excess} aguardando a janela de estabilização (${Math.round(reason.elapsedSeconds)}s de ${Math.round(reason.windowSeconds)}s)`;
    case 'released':
      return 'excesso liberado antes da janela: outra fila precisa da capacidade';
    case 'knee':
      return (
        `a regra pede ${reason.wanted}; portal saturado: ${kneeLevel(reason.below).replace(' →', ' workers →')}; ` +
        `${kneeLevel(reason.above)}; ${reason.probing ? `testando ${reason.given}` : `mantendo ${reason.given}`}`
      );
    case 'rateLimit':
      return `a regra pede ${reason.wanted}; rateLimit ${reason.max} jobs a cada ${num(reason.durationMs / 1000)} s com jobs de ${num(reason.jobSeconds, 2)} s ocupa ${reason.given}`;
  }
}

/** `[CAPACIDADE] 2 worker(s): CPU: ...; sobrecarga (...): nenhum worker novo` */
export function capacityLine(
  c: { readonly units: number; readonly limit: CapacityLimit; readonly overload?: OverloadReason | undefined },
  enabled: boolean,
): string {
  const units = Number.isFinite(c.units) ? `${c.units} worker(s)` : 'sem limite';
  const gate = c.overload ? `; sobrecarga (${overloadText(c.overload)}): nenhum worker novo` : '';
  const mode = enabled ? '' : ' (capacity.enabled: false, só informativo)';
  return `[CAPACIDADE] ${units}: ${capacityLimitText(c.limit)}${gate}${mode}`;
}

/** `[CAPACIDADE] conferencia: CPU por worker 0,76 núcleo, medida do pool (instância a-1, há 40 s); ...` */
export function poolCostLine(queue: string, coresPerUnit: number, instance: string, ageSeconds: number): string {
  return (
    `[CAPACIDADE] ${queue}: CPU por worker ${num(coresPerUnit, 2)} núcleo, medida do pool ` +
    `(instância ${instance}, há ${Math.max(0, Math.round(ageSeconds))} s); as medidas desta instância a substituem`
  );
}
