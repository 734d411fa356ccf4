/**
 * The seed's scaling log lines, formatted in one place. They are part of the operator contract
 * (CONTRACT.md "Logs"): operators grep for the tags.
 */

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
