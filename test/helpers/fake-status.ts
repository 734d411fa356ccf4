import type { DecisionRecord } from '../../src/shared/decision-record.js';
import type { BridgeStuck, QueueStatus, ServiceStatus, StatusSource } from '../../src/shared/status.js';

/** A queue status with every count 0 unless given. */
export function queueStatus(name: string, overrides: Partial<QueueStatus> = {}): QueueStatus {
  return {
    name,
    flow: name,
    sourceList: `fila:${name}`,
    listLength: 0,
    pending: 0,
    waiting: 0,
    active: 0,
    delayed: 0,
    failed: 0,
    completed: 0,
    workers: 0,
    busy: 0,
    starting: 0,
    draining: 0,
    desired: 0,
    maxWorkers: 10,
    jobsPerWorker: 50,
    workerNames: [],
    nextDelayedAt: null,
    oldestWaitingAgeMs: null,
    deadlines: { withDeadline: 0, atRisk: 0, earliestAtRisk: null, drainPerMinute: 0, truncated: false },
    bridgeStuckSeconds: 0,
    ...overrides,
  };
}

/**
 * A StatusSource from plain objects: tests change `queues`, `decisions`, `ready` or `fail` and
 * the next call sees it.
 */
export class FakeStatusSource implements StatusSource {
  queues: QueueStatus[];
  decisions: DecisionRecord[] = [];
  ready = true;
  /** When set, status() rejects with it (Redis down). */
  fail: Error | undefined;
  maxTotalWorkers = 20;
  statusCalls = 0;

  constructor(queues: QueueStatus[] = []) {
    this.queues = queues;
  }

  status(): Promise<ServiceStatus> {
    this.statusCalls++;
    if (this.fail) return Promise.reject(this.fail);
    return Promise.resolve({
      at: new Date().toISOString(),
      redis: this.ready ? 'up' : 'down',
      queues: this.queues,
      totalWorkers: this.queues.reduce((sum, q) => sum + q.workers, 0),
      maxTotalWorkers: this.maxTotalWorkers,
      recentDecisions: this.decisions.slice(-20).reverse(),
    });
  }

  decisionsSince(sinceMs: number): Promise<DecisionRecord[]> {
    return Promise.resolve(this.decisions.filter((d) => d.at >= sinceMs));
  }

  redisReady(): Promise<boolean> {
    return Promise.resolve(this.ready);
  }

  /** Bridges reported stuck (tests set it). */
  stuck: BridgeStuck[] = [];

  stuckBridges(): readonly BridgeStuck[] {
    return this.stuck;
  }
}
