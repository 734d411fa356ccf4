import type { Redis } from 'ioredis';
import { withTimeout } from '../lib/with-timeout.js';
import type { AppConfig } from '../config/types.js';
import type { DecisionHistory, DecisionRecord } from '../scaler/decision-history.js';
import type { QueueDepthSource } from '../scaler/queue-depth.js';
import type { Scaler } from '../scaler/scaler.js';
import type { WorkerPool } from '../scaler/worker-pool.js';
import type { BridgeStuck, QueueStatus, ServiceStatus, StatusSource } from './status.js';

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
      /** The bridge's stuck queues (none before the bridge starts). */
      readonly stuckBridges?: () => readonly BridgeStuck[];
    },
  ) {}

  stuckBridges(): readonly BridgeStuck[] {
    return this.deps.stuckBridges?.() ?? [];
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

  async status(): Promise<ServiceStatus> {
    const { config, pool, scaler, depth, history } = this.deps;
    const ready = await this.redisReady();
    const depths = ready ? await depth.sample() : scaler.lastDepths;
    const decisions = ready ? await history.latest(20) : [];
    const stuck = this.stuckBridges();
    const queues: QueueStatus[] = config.queues.map((q) => {
      const d = depths.find((x) => x.queue === q.name);
      const c = pool.counts(q.name);
      const plan = scaler.lastPlans.find((p) => p.queue === q.name);
      return {
        name: q.name,
        flow: q.flow,
        sourceList: q.sourceList,
        listLength: d?.listLength ?? 0,
        pending: d?.pending ?? 0,
        waiting: d?.waiting ?? 0,
        active: d?.active ?? 0,
        delayed: d?.delayed ?? 0,
        failed: d?.failed ?? 0,
        completed: d?.completed ?? 0,
        workers: c.live,
        busy: c.busy,
        starting: c.starting,
        draining: c.draining,
        desired: plan?.desired ?? 0,
        maxWorkers: q.maxWorkers,
        jobsPerWorker: q.jobsPerWorker,
        workerNames: c.names,
        bridgeStuckSeconds: stuck.find((s) => s.queue === q.name)?.seconds ?? 0,
      };
    });
    return {
      at: new Date().toISOString(),
      redis: ready ? 'up' : 'down',
      queues,
      totalWorkers: queues.reduce((sum, q) => sum + q.workers, 0),
      maxTotalWorkers: config.scaler.maxTotalWorkers,
      recentDecisions: decisions,
    };
  }
}
