import { describe, expect, it } from 'vitest';
import { equilibriumLine, scaleDownLine, scaleUpLine, workerStartedLine } from '../../../src/logging/scaling-lines.js';

describe('scaling log lines (CONTRACT.md "Logs")', () => {
  it('match the contract byte for byte', () => {
    expect(scaleUpLine('conferencia', 322, 2, 7)).toBe(
      '[ESCALAR] conferencia: 322 jobs → criando 5 worker(s) (total: 2 → 7)',
    );
    expect(equilibriumLine('conferencia', 150, 7)).toBe(
      '[EQUILIBRIO] conferencia: 150 jobs → 7 worker(s) ativo(s). Sem mudanças.',
    );
    expect(scaleDownLine('conferencia', 20, 7, 1)).toBe(
      '[REDUZIR] conferencia: 20 jobs → 6 worker(s) em excesso (total: 7 → 1). Workers finalizarão quando jobs terminarem.',
    );
    expect(workerStartedLine('Worker-conferencia-3', 'conferencia', 3)).toBe(
      "[INFO] Worker 'Worker-conferencia-3' iniciado. Total de conferencia: 3",
    );
  });
});
