/**
 * The seed's scaling log lines, formatted in one place. They are part of the operator contract
 * (CONTRACT.md "Logs"): operators grep for the tags.
 */

export function scaleUpLine(queue: string, pending: number, from: number, to: number): string {
  return `[ESCALAR] ${queue}: ${pending} jobs → criando ${to - from} worker(s) (total: ${from} → ${to})`;
}

export function equilibriumLine(queue: string, pending: number, current: number): string {
  return `[EQUILIBRIO] ${queue}: ${pending} jobs → ${current} worker(s) ativo(s). Sem mudanças.`;
}

export function scaleDownLine(queue: string, pending: number, from: number, to: number): string {
  return `[REDUZIR] ${queue}: ${pending} jobs → ${from - to} worker(s) em excesso (total: ${from} → ${to}). Workers finalizarão quando jobs terminarem.`;
}

export function workerStartedLine(worker: string, queue: string, total: number): string {
  return `[INFO] Worker '${worker}' iniciado. Total de ${queue}: ${total}`;
}

export function workerStoppedLine(worker: string, queue: string, total: number): string {
  return `[INFO] Worker '${worker}' finalizado. Total de ${queue}: ${total}`;
}
