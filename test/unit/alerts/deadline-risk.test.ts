import { describe, expect, it } from 'vitest';
import { measureDeadlineRisk } from '../../../src/alerts/rule-measure.js';
import type { AlertRule } from '../../../src/config/types.js';
import { deadlineRisk, estimatedStartMs } from '../../../src/service/deadline-risk.js';
import { queueStatus } from '../../helpers/fake-status.js';

const NOW = Date.UTC(2026, 11, 1, 8, 0, 0);

describe('deadlineRisk', () => {
  it('estimates the start of position p from the jobs ahead, the idle workers and the drain rate', () => {
    expect(estimatedStartMs(0, NOW, 1, 1)).toBe(NOW);
    expect(estimatedStartMs(0, NOW, 1, 0)).toBe(NOW + 1000);
    expect(estimatedStartMs(9, NOW, 2, 0)).toBe(NOW + 5000);
    expect(estimatedStartMs(9, NOW, 0, 0)).toBe(Infinity);
  });

  it('flags the items whose estimated start is after their deadline, and names the earliest', () => {
    const risk = deadlineRisk({
      nowMs: NOW,
      // 1 job/s: position 9 starts in ~10 s, position 99 in ~100 s.
      waiting: [
        { position: 9, deadlineMs: NOW + 60_000 },
        { position: 99, deadlineMs: NOW + 60_000 },
        { position: 120, deadlineMs: NOW + 90_000 },
      ],
      delayed: [{ dueAtMs: NOW + 10_000, deadlineMs: NOW + 5_000 }],
      ratePerSecond: 1,
      idleWorkers: 0,
    });
    expect(risk).toEqual({ withDeadline: 4, atRisk: 3, earliestAtRiskMs: NOW + 5_000 });
    const fast = deadlineRisk({
      nowMs: NOW,
      waiting: [{ position: 99, deadlineMs: NOW + 60_000 }],
      delayed: [],
      ratePerSecond: 10,
      idleWorkers: 0,
    });
    expect(fast.atRisk).toBe(0);
  });

  it('puts every waiting deadline at risk when nothing drains', () => {
    const risk = deadlineRisk({
      nowMs: NOW,
      waiting: [{ position: 3, deadlineMs: NOW + 3_600_000 }],
      delayed: [],
      ratePerSecond: 0,
      idleWorkers: 0,
    });
    expect(risk.atRisk).toBe(1);
  });
});

describe('deadlineRisk without observations', () => {
  it('claims no risk from an unknown rate, only deadlines already past', () => {
    const risk = deadlineRisk({
      nowMs: NOW,
      waiting: [
        { position: 50, deadlineMs: NOW + 1000 },
        { position: 60, deadlineMs: NOW - 1000 },
      ],
      delayed: [],
      ratePerSecond: null,
      idleWorkers: 0,
    });
    expect(risk).toEqual({ withDeadline: 2, atRisk: 1, earliestAtRiskMs: NOW - 1000 });
  });
});

describe('measureDeadlineRisk', () => {
  const rule: AlertRule = { name: 'prazos', kind: 'deadlineAtRisk', queue: 'conferencia', threshold: 0, forSeconds: 0 };
  it('names the queue, the number at risk and the earliest deadline, in Portuguese', () => {
    const status = {
      at: '',
      redis: 'up' as const,
      totalWorkers: 0,
      maxTotalWorkers: 20,
      recentDecisions: [],
      queues: [
        queueStatus('conferencia', {
          deadlines: {
            withDeadline: 10,
            atRisk: 4,
            earliestAtRisk: '2026-12-01T08:05:00.000Z',
            drainPerMinute: 12,
            truncated: false,
          },
        }),
      ],
    };
    const m = measureDeadlineRisk(rule, status);
    expect(m).toMatchObject({ value: 4, above: true });
    expect(m?.detail).toBe(
      '4 item(ns) com prazo em risco; prazo mais próximo 2026-12-01T08:05:00.000Z; conferencia drena ~12/min (limite 0)',
    );
    expect(measureDeadlineRisk({ ...rule, threshold: 4 }, status)?.above).toBe(false);
    expect(measureDeadlineRisk({ ...rule, queue: 'nada' }, status)).toBeUndefined();
  });
});
