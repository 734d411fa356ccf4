import type { DecisionRecord } from './decision-record.js';
import type { CapacityLimit, KneeLevel, OverloadReason, PlanReason } from './scaling-reason.js';

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
  /**
   * Worker units over all instances: this instance's live ones (starting, ready, busy), and the
   * slots each other instance holds (see {@link InstanceStatus.units}).
   */
  readonly workers: number;
  /** `busy`, `starting`, `draining` and `workerNames`: this instance's units. */
  readonly busy: number;
  readonly starting: number;
  readonly draining: number;
  /** The scaler's last decision (fair share of the rule). */
  readonly desired: number;
  readonly maxWorkers: number;
  readonly jobsPerWorker: number;
  /** Names of the units not closed, e.g. `Worker-conferencia-3`. */
  readonly workerNames: readonly string[];
  /** How long the bridge's batch has kept failing while Redis answers (0: it moves). */
  readonly bridgeStuckSeconds: number;
  /** When the next postponed job (`executarApos`) comes due; null when none. */
  readonly nextDelayedAt: string | null;
  /** How long the oldest waiting job has waited (since added, or since it came due); null when none. */
  readonly oldestWaitingAgeMs: number | null;
  /** Deadlines (`prazo`) of waiting and postponed jobs (see service/deadline-risk.ts for the estimate). */
  readonly deadlines: DeadlineStatus;
  /** The invalid list's size against its bounds (absent while Redis does not answer). */
  readonly invalidList?: InvalidListStatus;
  /** Divisor, job time and what held the last decision (absent before the first one). */
  readonly scaling?: QueueScalingStatus;
}

/** The invalid list of a {@link QueueStatus}: past either bound, its oldest entries are dropped. */
export interface InvalidListStatus {
  readonly items: number;
  /** Redis's MEMORY USAGE of the list (0 where MEMORY is refused). */
  readonly bytes: number;
  /** `bridge.invalidMaxItems` / `bridge.invalidMaxBytes`. */
  readonly maxItems: number;
  readonly maxBytes: number;
  /** The larger of items / maxItems and bytes / maxBytes: 1 = at the bound, drops begin. */
  readonly fill: number;
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

/** How the scaler sized a queue last time: the divisor in effect, S, and what held the target. */
export interface QueueScalingStatus {
  /** The divisor in effect: `jobsPerWorker`, or T/S once learned. */
  readonly divisor: number;
  readonly divisorSource: 'fixed' | 'learned';
  /** Rolling median of successful attempts (S), seconds; null before any. */
  readonly jobSeconds: number | null;
  readonly jobSamples: number;
  /** What held the target: rule, total, capacity, overload, stabilizing, knee or rateLimit. */
  readonly bound: string;
  /** The decision's reason (why the queue is below its rule, when it is). */
  readonly reason: string;
  /** The same reason as data: the bound and its numbers. */
  readonly detail: PlanReason;
  /** The portal's knee when one holds the queue (or is being probed); null otherwise. */
  readonly knee: {
    readonly workers: number;
    readonly below: KneeLevel;
    readonly above: KneeLevel;
    readonly probing: boolean;
  } | null;
}

/** This instance's capacity and the load signals behind it. */
export interface CapacityStatus {
  /** false: shown for information, the decision uses the plain rule. */
  readonly enabled: boolean;
  /** Units this instance can run now; null before the first samples. */
  readonly units: number | null;
  /** cpu, memory, memoryBudget, maxUnits, or none (nothing bounds yet: no CPU measurement). */
  readonly limitedBy: string | null;
  readonly reason: string | null;
  /** The bound that holds, with its numbers. */
  readonly limit: CapacityLimit | null;
  /** The start gate is closed. */
  readonly overloaded: boolean;
  readonly overloadReason: string | null;
  readonly overload: OverloadReason | null;
  readonly cores: number | null;
  /** Over the short window. */
  readonly cpuPercent: number | null;
  readonly ourCores: number | null;
  /** Cores other processes use (the higher of the short and the long window). */
  readonly otherCores: number | null;
  /** cores × maxCpuRatio − otherCores: what the units may use. */
  readonly freeCores: number | null;
  /** Measured cores one busy unit uses, per queue; null before the queue has a measurement. */
  readonly cpuPerUnit: Readonly<Record<string, number | null>>;
  /**
   * The evidence behind it (decayed sums): busy unit-seconds, CPU-seconds, run-queue wait seconds,
   * and where it comes from: this instance's units, or the pool's figure (Redis) it started from.
   */
  readonly unitCpu: Readonly<
    Record<
      string,
      {
        readonly busySeconds: number;
        readonly cpuSeconds: number;
        readonly waitSeconds: number;
        readonly from: 'local' | 'pool';
      }
    >
  >;
  /**
   * Browser launches in turns: at most `limit` at once, `launching` now, `waiting` units for
   * their turn; `paused` while units wait although a turn is free (their queue's units at work
   * leave no room for one more browser); null with capacity off (every unit launches at once).
   */
  readonly launches: {
    readonly limit: number;
    readonly launching: number;
    readonly waiting: number;
    readonly paused: boolean;
  } | null;
  readonly memoryUsedMb: number | null;
  readonly memoryLimitMb: number | null;
  /** PSS of our browsers' process trees (latest measure of each). */
  readonly browserMb: number | null;
  readonly browsers: number;
  readonly unitMemoryMb: number | null;
  readonly eventLoopDelayMs: number | null;
  /** Share of overloaded samples per signal in the short and long windows. */
  readonly overloadedShort: { readonly cpu: number; readonly memory: number; readonly eventLoop: number } | null;
  readonly overloadedLong: { readonly cpu: number; readonly memory: number; readonly eventLoop: number } | null;
  readonly source: { readonly cpu: string | null; readonly memory: string | null };
}

/** A queue whose bridge is stuck: its batch keeps failing while Redis answers. */
export interface BridgeStuck {
  readonly queue: string;
  readonly seconds: number;
  /** The last error, for people. */
  readonly reason: string;
}

/**
 * This instance's self-fence (src/cluster/self-fence.ts): its renewals stopped reaching Redis, so
 * it closed its units before their slots could lapse. Times are wall-clock ms.
 */
export interface FenceStatus {
  readonly fenced: boolean;
  /** When the last renewal that reached Redis was sent; undefined before the first. */
  readonly lastRenewalAt: number | undefined;
  /** When the current fence started; undefined when not fenced. */
  readonly fencedAt: number | undefined;
  /** When the current fence's units had all closed; undefined while some are still open. */
  readonly unitsClosedAt: number | undefined;
  /** Slots and heartbeat lapse this long after the last renewal. */
  readonly leaseMs: number;
  /** Units of this instance not closed yet (starting, running or draining). */
  readonly openUnits: number;
}

/** One live instance of the pool (CONTRACT.md "Several instances"). */
export interface InstanceStatus {
  readonly id: string;
  readonly host: string;
  readonly version: string;
  /** Most units it may run. */
  readonly capacity: number;
  /**
   * Units per queue: this instance's live ones (starting, ready, busy), counted in its own pool;
   * another instance's are the unit slots it holds in Redis (granted when a unit starts, given back
   * once it has closed, so a draining unit still counts), the same count its scaler splits on; its
   * heartbeat's own count would be up to a beat old.
   */
  readonly units: Readonly<Record<string, number>>;
  /** Sum of `units`. */
  readonly workers: number;
  /** Its last heartbeat (ISO) and how old it was when this status was read. */
  readonly lastHeartbeatAt: string;
  readonly heartbeatAgeMs: number;
  /** True for the instance answering this request. */
  readonly self: boolean;
}

/** The whole `/api/status` document. */
export interface ServiceStatus {
  readonly at: string;
  readonly redis: 'up' | 'down';
  /** The instance answering. */
  readonly instanceId: string;
  /** Per-queue `pending`, `workers`, `desired` are global: over all the instances listed here. */
  readonly instances: readonly InstanceStatus[];
  readonly queues: readonly QueueStatus[];
  /** Live units over all queues and instances. */
  readonly totalWorkers: number;
  /** The scaler's last decision over all queues: the units the whole pool should run (KEDA reads it). */
  readonly totalDesired: number;
  readonly maxTotalWorkers: number;
  readonly recentDecisions: readonly DecisionRecord[];
  /** This instance's capacity (absent where no monitor runs, e.g. fakes). */
  readonly capacity?: CapacityStatus;
}

/** Where the HTTP layer gets the service's state from (main wires the real one). */
export interface StatusSource {
  status(): Promise<ServiceStatus>;
  /** Decisions since `sinceMs`, oldest first (the dashboard's last-hour chart). */
  decisionsSince(sinceMs: number): Promise<DecisionRecord[]>;
  /** True when Redis answers a PING. */
  redisReady(): Promise<boolean>;
  /** Queues whose bridge is stuck now (cheap, no I/O; `/readyz` shows them). */
  stuckBridges?(): readonly BridgeStuck[];
  /** This instance's self-fence (cheap, no I/O; `/readyz` and `/metrics` show it). */
  fence?(): FenceStatus | undefined;
}
