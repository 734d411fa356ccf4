import type { DecisionRecord } from '../scaler/decision-history.js';

/** One queue as `/api/status` shows it (CONTRACT.md "HTTP"). */
export interface QueueStatus {
  readonly name: string;
  readonly flow: string;
  readonly sourceList: string;
  /** Items still in the source list (not yet bridged). */
  readonly listLength: number;
  /** listLength + waiting + delayed jobs already due: what the scaling rule divides. */
  readonly pending: number;
  /** Jobs waiting for a worker (BullMQ's waiting and prioritized). */
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly completed: number;
  /** Live worker units (starting, ready, busy). */
  readonly workers: number;
  readonly busy: number;
  readonly starting: number;
  readonly draining: number;
  /** The scaler's last decision (fair share of the rule). */
  readonly desired: number;
  readonly maxWorkers: number;
  readonly jobsPerWorker: number;
  /** Names of the units not closed, e.g. `Worker-conferencia-3`. */
  readonly workerNames: readonly string[];
  /** When the next postponed job (`executarApos`) comes due; null when none. */
  readonly nextDelayedAt: string | null;
  /** How long the oldest waiting job has waited (since added, or since it came due); null when none. */
  readonly oldestWaitingAgeMs: number | null;
  /** Deadlines (`prazo`) of waiting and postponed jobs (see service/deadline-risk.ts for the estimate). */
  readonly deadlines: DeadlineStatus;
}

/** The deadline part of a {@link QueueStatus}. */
export interface DeadlineStatus {
  /** Jobs read that carry a deadline. */
  readonly withDeadline: number;
  /** Of those, the ones expected to start after their deadline. */
  readonly atRisk: number;
  /** Earliest deadline among those at risk (ISO); null when none. */
  readonly earliestAtRisk: string | null;
  /** The drain rate the estimate used, jobs per minute; null when unknown (no job finished lately). */
  readonly drainPerMinute: number | null;
  /** True when the backlog is longer than what was read: later jobs were not checked. */
  readonly truncated: boolean;
}

/** The whole `/api/status` document. */
export interface ServiceStatus {
  readonly at: string;
  readonly redis: 'up' | 'down';
  readonly queues: readonly QueueStatus[];
  readonly totalWorkers: number;
  readonly maxTotalWorkers: number;
  readonly recentDecisions: readonly DecisionRecord[];
}

/** Where the HTTP layer gets the service's state from (main wires the real one). */
export interface StatusSource {
  status(): Promise<ServiceStatus>;
  /** Decisions since `sinceMs`, oldest first (the dashboard's last-hour chart). */
  decisionsSince(sinceMs: number): Promise<DecisionRecord[]>;
  /** True when Redis answers a PING. */
  redisReady(): Promise<boolean>;
}
