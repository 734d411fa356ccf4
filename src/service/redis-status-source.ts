import os from 'node:os';
import type { Redis } from 'ioredis';
import { SERVICE_VERSION } from './version.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { AppConfig } from '../config/types.js';
import type { DecisionHistory } from '../scaler/decision-history.js';
import type { DecisionRecord } from '../shared/decision-record.js';
import type { QueueDepthSource } from '../scaler/queue-depth.js';
import type { Scaler } from '../scaler/scaler.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import { withSelf } from '../scaler/scaler-cluster.js';
import type { OutcomeCounts, PoolHistorySource } from '../shared/pool-history.js';
import { BULL_PRIORITY } from '../lib/scheduling.js';
import { invalidListUsage } from '../bridge/lossless-list-moves.js';
import { deadlineRisk } from './deadline-risk.js';
import { readScheduleView, type ScheduleView } from './schedule-view.js';
import type { PeerInstance } from './cluster-wiring.js';
import type {
  BridgeStuck,
  CapacityStatus,
  DeadlineStatus,
  FenceStatus,
  InvalidListStatus,
  InstanceStatus,
  QueueStatus,
  ServiceStatus,
  StatusSource,
} from '../shared/status.js';
import type { PoolCaps } from '../cluster/pool-caps.js';
import { planReasonText } from '../logging/scaling-lines.js';
import type { PlanReason, RuleReason } from '../shared/scaling-reason.js';
import type { FenceState } from '../cluster/self-fence.js';

/** Jobs read per queue for ages and deadlines. */
const SCHEDULE_SCAN_LIMIT = 1000;
/** The completion rate of the deadline estimate is observed over this window. */
export const DRAIN_RATE_WINDOW_MS = 5 * 60_000;

const NO_DEADLINES: DeadlineStatus = {
  withDeadline: 0,
  atRisk: 0,
  earliestAtRisk: null,
  drainPerMinute: 0,
  truncated: false,
};

/** The live status, read from Redis (queue counts, decisions) and from the pool (units). */
export class LiveStatusSource implements StatusSource {
  constructor(
    private readonly deps: {
      readonly config: AppConfig;
      readonly redis: Redis;
      readonly depth: QueueDepthSource;
      readonly pool: WorkerPool;
      readonly scaler: Scaler;
      readonly history: DecisionHistory;
      /** The pool's history: its outcomes of the last {@link DRAIN_RATE_WINDOW_MS} give the drain rate. */
      readonly poolHistory: PoolHistorySource;
      /** @defaultValue Date.now */
      readonly clock?: () => number;
      /** This instance's id, its capacity (units) and the pool's live instances (read at every status). */
      readonly instanceId: string;
      readonly instanceCapacity: () => number;
      readonly instances?: () => Promise<readonly PeerInstance[]>;
      readonly capacity?: { status(): CapacityStatus };
      /** The bridge's stuck queues (none before the bridge starts). */
      readonly stuckBridges?: () => readonly BridgeStuck[];
      /** This instance's self-fence (none before the heartbeat starts). */
      readonly fence?: () => FenceState | undefined;
      /** The caps in effect (the pool's stored ones once joined). @defaultValue the configuration's */
      readonly caps?: () => PoolCaps;
    },
  ) {}

  stuckBridges(): readonly BridgeStuck[] {
    return this.deps.stuckBridges?.() ?? [];
  }

  fence(): FenceStatus | undefined {
    const state = this.deps.fence?.();
    return state && { ...state, openUnits: this.deps.pool.openUnits() };
  }

  async redisReady(): Promise<boolean> {
    if (this.deps.redis.status !== 'ready') return false;
    try {
      return (await withTimeout(this.deps.redis.ping(), 1000, 'Redis PING')) === 'PONG';
    } catch {
      return false;
    }
  }

  decisionsSince(sinceMs: number): Promise<DecisionRecord[]> {
    return this.deps.history.since(sinceMs);
  }

  /**
   * The workers the queue has or is about to get: live units, the scaler's last decision, or what
   * the scaling rule gives this backlog (a burst is seen before the scaler's next evaluation).
   */
  #workersFor(
    q: AppConfig['queues'][number],
    maxWorkers: number,
    pending: number,
    live: number,
    desired: number | undefined,
  ): number {
    const byRule = Math.min(maxWorkers, Math.ceil(pending / q.jobsPerWorker));
    return Math.max(live, desired ?? 0, byRule);
  }

  /**
   * Deadlines at risk at the pool's observed drain rate (the estimate: service/deadline-risk.ts);
   * `counts` undefined when the history could not be read (rate unknown).
   */
  #deadlines(
    view: ScheduleView,
    counts: OutcomeCounts | undefined,
    workers: number,
    idleWorkers: number,
    now: number,
  ): DeadlineStatus {
    const meanMs = counts?.meanDurationMs ?? null;
    const throughput = counts ? (counts.ok + counts.error) / (DRAIN_RATE_WINDOW_MS / 1000) : 0;
    const ratePerSecond = meanMs === null ? null : Math.max(throughput, workers / Math.max(meanMs / 1000, 0.001));
    const risk = deadlineRisk({ nowMs: now, waiting: view.waiting, delayed: view.delayed, ratePerSecond, idleWorkers });
    return {
      withDeadline: risk.withDeadline,
      atRisk: risk.atRisk,
      earliestAtRisk: risk.earliestAtRiskMs === null ? null : new Date(risk.earliestAtRiskMs).toISOString(),
      drainPerMinute: ratePerSecond === null ? null : Math.round(ratePerSecond * 60 * 10) / 10,
      truncated: view.truncated,
    };
  }

  /** The live instances; this one always listed, with its units from its own pool. */
  async #instances(ready: boolean, now: number): Promise<InstanceStatus[]> {
    const { pool, instanceId } = this.deps;
    const units = pool.liveByQueue();
    const self: InstanceStatus = {
      id: instanceId,
      host: os.hostname(),
      version: SERVICE_VERSION,
      capacity: this.deps.instanceCapacity(),
      units,
      workers: Object.values(units).reduce((a, b) => a + b, 0),
      lastHeartbeatAt: new Date(now).toISOString(),
      heartbeatAgeMs: 0,
      self: true,
    };
    let live: readonly PeerInstance[] = [];
    if (ready && this.deps.instances) live = await this.deps.instances().catch(() => []);
    const others = live.map((i): InstanceStatus => ({
      id: i.id,
      host: i.host,
      version: i.version,
      capacity: i.capacity,
      units: i.units,
      workers: Object.values(i.units).reduce((a, b) => a + b, 0),
      lastHeartbeatAt: new Date(i.beatAt).toISOString(),
      heartbeatAgeMs: Math.max(0, now - i.beatAt),
      self: false,
    }));
    return withSelf(others, self);
  }

  /** The invalid list against its bounds; undefined when it cannot be read now. */
  async #invalidList(key: string): Promise<InvalidListStatus | undefined> {
    const { invalidMaxItems: maxItems, invalidMaxBytes: maxBytes } = this.deps.config.bridge;
    try {
      const { items, bytes } = await invalidListUsage(this.deps.redis, key);
      return { items, bytes, maxItems, maxBytes, fill: Math.max(items / maxItems, bytes / maxBytes) };
    } catch {
      return undefined;
    }
  }

  async status(): Promise<ServiceStatus> {
    const { config, pool, scaler, depth, history } = this.deps;
    const ready = await this.redisReady();
    const depths = ready ? await depth.sample() : scaler.lastDepths;
    const decisions = ready ? await history.latest(20) : [];
    const now = (this.deps.clock ?? Date.now)();
    const views = ready
      ? await Promise.all(
          config.queues.map((q) =>
            readScheduleView(this.deps.redis, `${config.redis.prefix}:${q.name}`, {
              limit: SCHEDULE_SCAN_LIMIT,
              bands: Object.values(BULL_PRIORITY),
            }),
          ),
        )
      : [];
    const stuck = this.stuckBridges();
    const caps = this.deps.caps?.() ?? {
      maxTotalWorkers: config.scaler.maxTotalWorkers,
      maxWorkers: Object.fromEntries(config.queues.map((q) => [q.name, q.maxWorkers])),
    };
    const invalidLists = ready ? await Promise.all(config.queues.map((q) => this.#invalidList(q.invalidList))) : [];
    const instances = await this.#instances(ready, now);
    const drained = ready
      ? await this.deps.poolHistory.outcomes(DRAIN_RATE_WINDOW_MS).catch(() => undefined)
      : undefined;
    const queues: QueueStatus[] = config.queues.map((q, i) => {
      const d = depths.find((x) => x.queue === q.name);
      const local = pool.counts(q.name);
      // Global: every live instance's units of this queue (this one's counted from its own pool).
      const c = { ...local, live: instances.reduce((sum, m) => sum + (m.units[q.name] ?? 0), 0) };
      const plan = scaler.lastPlans.find((p) => p.queue === q.name);
      const view = views[i];
      const jobTime = scaler.lastJobTimes[q.name];
      return {
        name: q.name,
        flow: q.flow,
        sourceList: q.sourceList,
        listLength: d?.listLength ?? 0,
        pending: d?.pending ?? 0,
        // Bridged jobs all carry a priority: they wait in BullMQ's prioritized set.
        waiting: (d?.waiting ?? 0) + (d?.prioritized ?? 0),
        active: d?.active ?? 0,
        delayed: d?.delayed ?? 0,
        failed: d?.failed ?? 0,
        completed: d?.completed ?? 0,
        workers: c.live,
        busy: c.busy,
        starting: c.starting,
        draining: c.draining,
        desired: plan?.desired ?? 0,
        maxWorkers: caps.maxWorkers[q.name] ?? q.maxWorkers,
        jobsPerWorker: q.jobsPerWorker,
        workerNames: c.names,
        nextDelayedAt: d?.nextDueAt != null ? new Date(d.nextDueAt).toISOString() : null,
        oldestWaitingAgeMs: view?.oldestReadyAtMs != null ? Math.max(0, now - view.oldestReadyAtMs) : null,
        deadlines: view
          ? this.#deadlines(
              view,
              drained?.[q.name],
              this.#workersFor(q, caps.maxWorkers[q.name] ?? q.maxWorkers, d?.pending ?? 0, c.live, plan?.desired),
              local.live - local.busy,
              now,
            )
          : NO_DEADLINES,
        ...(plan
          ? {
              scaling: {
                divisor: Math.round(plan.divisor * 10) / 10,
                divisorSource: ruleOf(plan.reason)?.kind === 'learned' ? ('learned' as const) : ('fixed' as const),
                jobSeconds: jobTime ? Math.round(jobTime.seconds * 1000) / 1000 : null,
                jobSamples: jobTime?.samples ?? 0,
                bound: plan.bound,
                reason: planReasonText(plan.reason),
                detail: plan.reason,
                knee:
                  plan.reason.kind === 'knee'
                    ? {
                        workers: plan.reason.given,
                        below: plan.reason.below,
                        above: plan.reason.above,
                        probing: plan.reason.probing,
                      }
                    : null,
              },
            }
          : {}),
        bridgeStuckSeconds: stuck.find((s) => s.queue === q.name)?.seconds ?? 0,
        ...(invalidLists[i] ? { invalidList: invalidLists[i] } : {}),
      };
    });
    return {
      at: new Date().toISOString(),
      redis: ready ? 'up' : 'down',
      instanceId: this.deps.instanceId,
      instances,
      queues,
      totalWorkers: queues.reduce((sum, q) => sum + q.workers, 0),
      totalDesired: queues.reduce((sum, q) => sum + q.desired, 0),
      maxTotalWorkers: caps.maxTotalWorkers,
      recentDecisions: decisions,
      ...(this.deps.capacity ? { capacity: this.deps.capacity.status() } : {}),
    };
  }
}

/** The rule behind a plan's reason, when the reason carries one. */
function ruleOf(reason: PlanReason): RuleReason | undefined {
  return 'rule' in reason ? reason.rule : undefined;
}
