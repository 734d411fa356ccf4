import { describe, expect, it } from 'vitest';
import { capacityLine, planReasonText, poolCostLine } from '../../../src/logging/scaling-lines.js';
import type { RuleReason } from '../../../src/shared/scaling-reason.js';

const fixed: RuleReason = { kind: 'fixed', pending: 322, jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10, workers: 7 };

describe('the operator’s words for structured reasons (Portuguese, made in logging/)', () => {
  it('keeps the wording the decisions had', () => {
    expect(planReasonText({ kind: 'rule', rule: { ...fixed, pending: 120, workers: 3 } })).toBe(
      'ceil(120/50) limitado a [mín, máx] = 3',
    );
    expect(planReasonText({ kind: 'total', rule: fixed, wanted: 10, maxTotalWorkers: 4, given: 2 })).toBe(
      'a regra pede 10; o teto total 4, repartido entre as filas, dá 2',
    );
    expect(planReasonText({ kind: 'stabilizing', excess: 2, elapsedSeconds: 0, windowSeconds: 60 })).toBe(
      'excesso de 2 aguardando a janela de estabilização (0s de 60s)',
    );
    expect(planReasonText({ kind: 'released', excess: 4 })).toBe(
      'excesso liberado antes da janela: outra fila precisa da capacidade',
    );
    expect(
      planReasonText({
        kind: 'overload',
        rule: fixed,
        wanted: 7,
        overload: { signal: 'cpu', maxCpuRatio: 0.95, share: 1, windowSeconds: 5, cores: 2 },
        firstOnly: false,
      }),
    ).toBe(
      'a regra pede 7; máquina sobrecarregada (CPU ≥ 95% em 100% das amostras de 5s (2 núcleos)): nenhum worker novo',
    );
  });

  it('says the CPU bound with its numbers, the learned plan’s estimate and the portal’s knee', () => {
    expect(
      planReasonText({
        kind: 'capacity',
        rule: fixed,
        wanted: 7,
        given: 2,
        limit: { signal: 'cpu', cores: 2, freeCores: 0.8, otherCores: 1.1, maxCpuRatio: 0.95, perUnit: 0.7 },
      }),
    ).toBe(
      'a regra pede 7; limitado pela capacidade: CPU: 0,8 de 2 núcleos livres (1,1 usados por outros processos), 0,7 núcleo por worker → 2',
    );
    expect(
      planReasonText({
        kind: 'rule',
        rule: {
          kind: 'learned',
          pending: 322,
          jobSeconds: 1.3,
          secondsLeft: 60,
          targetDrainSeconds: 60,
          minWorkers: 0,
          maxWorkers: 10,
          workers: 7,
        },
      }),
    ).toBe('322 jobs × 1,3 s ÷ 60 s → 7; divisor aprendido, meta 60 s');
    expect(
      planReasonText({
        kind: 'knee',
        rule: { ...fixed, pending: 400, workers: 8 },
        wanted: 8,
        given: 6,
        below: { workers: 6, perMinute: 41.2, jobSeconds: 8.7 },
        above: { workers: 8, perMinute: 40.1, jobSeconds: 12 },
        probing: false,
      }),
    ).toBe('a regra pede 8; portal saturado: 6 workers → 41/min; 8 → 40/min; mantendo 6');
  });

  it('[CAPACIDADE] names the units and the bound, and the gate while overloaded', () => {
    expect(
      capacityLine(
        {
          units: 1,
          limit: { signal: 'cpu', cores: 2, freeCores: 0.7, otherCores: 1.2, maxCpuRatio: 0.95, perUnit: 0.8 },
          overload: { signal: 'cpu', maxCpuRatio: 0.95, share: 0.6, windowSeconds: 5, cores: 2 },
        },
        true,
      ),
    ).toBe(
      '[CAPACIDADE] 1 worker(s): CPU: 0,7 de 2 núcleos livres (1,2 usados por outros processos), 0,8 núcleo por worker; sobrecarga (CPU ≥ 95% em 60% das amostras de 5s (2 núcleos)): nenhum worker novo',
    );
  });

  it('[CAPACIDADE] says where a queue’s CPU per unit comes from when it is the pool’s', () => {
    expect(poolCostLine('conferencia', 0.756, 'vm-1', 42.4)).toBe(
      '[CAPACIDADE] conferencia: CPU por worker 0,76 núcleo, medida do pool (instância vm-1, há 42 s); as medidas desta instância a substituem',
    );
  });
});
