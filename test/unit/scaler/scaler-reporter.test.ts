import { describe, expect, it } from 'vitest';
import { Scaler, type ScaledPool } from '../../../src/scaler/scaler.js';
import type { AssignableInstance } from '../../../src/scaler/assign.js';
import type { QueueDepth } from '../../../src/scaler/queue-depth.js';
import { memoryLogger } from '../../helpers/memory-logger.js';

function depth(queue: string, pending: number): QueueDepth {
  return {
    queue,
    listLength: pending,
    waiting: 0,
    prioritized: 0,
    active: 0,
    delayed: 0,
    failed: 0,
    completed: 0,
    dueDelayed: 0,
    nextDueAt: null,
    pending,
  };
}

/** One instance of a two-instance pool; the other one (`peer`) runs no units yet. */
function instance(selfId: string, peer: string) {
  const { logger, lines } = memoryLogger('debug');
  const targets: number[] = [];
  const pool: ScaledPool = { counts: () => ({ live: 0 }), setTarget: (_q, t) => targets.push(t) };
  const others: AssignableInstance[] = [{ id: peer, capacity: 5, units: { conferencia: 0 } }];
  const scaler = new Scaler({
    source: { sample: () => Promise.resolve([depth('conferencia', 322)]) },
    pool,
    limits: {
      queues: { conferencia: { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10 } },
      maxTotalWorkers: 20,
      stabilizationMs: 60_000,
    },
    cluster: { selfId, capacity: () => 5, units: () => ({ conferencia: 0 }), instances: () => Promise.resolve(others) },
    logger,
    intervalMs: 60_000,
    debounceMs: 1000,
    equilibriumLogLevel: 'info',
    clock: () => 1_000_000,
  });
  return { scaler, lines, targets };
}

describe('scaler with several instances: one reporter per decision', () => {
  it('the first live instance by id reports the decision, the others apply their share silently', async () => {
    const first = instance('maq-a', 'maq-b');
    const second = instance('maq-b', 'maq-a');
    const seen: boolean[] = [];
    first.scaler.on('evaluated', (_p, _d, reporter) => seen.push(reporter));
    second.scaler.on('evaluated', (_p, _d, reporter) => seen.push(reporter));

    const [planA] = await first.scaler.evaluate();
    const [planB] = await second.scaler.evaluate();

    // Both see the same global decision: 322 jobs → 7 units, split between the two instances.
    expect(planA).toMatchObject({ action: 'up', current: 0, target: 7 });
    expect(planB).toMatchObject({ action: 'up', current: 0, target: 7 });
    expect((first.targets[0] ?? 0) + (second.targets[0] ?? 0)).toBe(7);
    expect(seen).toEqual([true, false]);
    const escalar = (lines: { level: string; message: string }[]): string[] =>
      lines.filter((l) => l.level === 'info' && l.message.startsWith('[ESCALAR]')).map((l) => l.message);
    expect(escalar(first.lines)).toHaveLength(1);
    expect(escalar(second.lines)).toHaveLength(0);
  });
});
