import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerCapacityGauges, registerQueueGauges } from './capacity-metrics.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceEventMap, ServiceEvents } from '../shared/events.js';
import type { QueueStatus, ServiceStatus, StatusSource } from '../shared/status.js';

/** Options for {@link ServiceMetrics}. */
export interface ServiceMetricsOptions {
  readonly status: StatusSource;
  readonly events: ServiceEvents;
  readonly logger: Logger;
  /** One status() call serves every gauge of a scrape; reuse it this long. @defaultValue 1000 */
  readonly statusCacheMs?: number;
  /** A scrape does not wait longer than this for the status (queue gauges are left out). @defaultValue 5000 */
  readonly statusTimeoutMs?: number;
}

/** Per-queue gauges read from the status at scrape time: metric name → help and field. */
const QUEUE_GAUGES: readonly { name: string; help: string; field: keyof QueueStatus }[] = [
  {
    name: 'rpa_queue_pending_jobs',
    help: 'Jobs pending: source list + waiting + prioritized (what the scaling rule divides)',
    field: 'pending',
  },
  { name: 'rpa_queue_list_items', help: 'Items still in the source list, not yet bridged', field: 'listLength' },
  { name: 'rpa_queue_waiting_jobs', help: 'BullMQ jobs waiting', field: 'waiting' },
  { name: 'rpa_queue_active_jobs', help: 'BullMQ jobs being processed', field: 'active' },
  { name: 'rpa_queue_delayed_jobs', help: 'BullMQ jobs delayed (executarApos, retry backoff)', field: 'delayed' },
  { name: 'rpa_queue_failed_jobs', help: 'BullMQ jobs failed and still retained', field: 'failed' },
  { name: 'rpa_workers', help: 'Live worker units (starting, ready, busy)', field: 'workers' },
  { name: 'rpa_workers_busy', help: 'Worker units running a job', field: 'busy' },
  { name: 'rpa_workers_desired', help: "The scaler's last decision (fair share of the rule)", field: 'desired' },
  { name: 'rpa_workers_max', help: 'Worker ceiling of the queue', field: 'maxWorkers' },
  {
    name: 'rpa_bridge_stuck_seconds',
    help: "Seconds the bridge's batch has kept failing while Redis answers (0: it moves)",
    field: 'bridgeStuckSeconds',
  },
];

/** The invalid list against its bounds (bridge.invalidMaxItems / invalidMaxBytes), per queue. */
const INVALID_LIST_GAUGES: readonly { name: string; help: string; value: (q: QueueStatus) => number | null }[] = [
  {
    name: 'rpa_invalid_list_items',
    help: 'Entries in the invalid list <sourceList>:invalid',
    value: (q) => q.invalidList?.items ?? null,
  },
  {
    name: 'rpa_invalid_list_bytes',
    help: 'Bytes of the invalid list (Redis MEMORY USAGE)',
    value: (q) => q.invalidList?.bytes ?? null,
  },
  {
    name: 'rpa_invalid_list_fill_ratio',
    help: 'How full the invalid list is: the larger of entries/bridge.invalidMaxItems and bytes/bridge.invalidMaxBytes (1: its oldest entries are being dropped)',
    value: (q) => q.invalidList?.fill ?? null,
  },
];

const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Job durations of browser flows: 100 ms (an echo, a permanent failure found at once) to 5 min
 * (`jobs.timeoutSeconds`' default), finest from 0.25 to 3 s, where conferência and emissão land,
 * so histogram_quantile over them is close (the Grafana dashboard and the alert rules use it).
 */
export const DURATION_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 300];

/**
 * The service's Prometheus metrics in a registry of its own (several servers can live in one
 * process, as in tests). Queue gauges are filled from the status source at scrape time; counters
 * and the duration histogram from the service events between {@link start} and {@link close}.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #status: StatusSource;
  readonly #events: ServiceEvents;
  readonly #logger: Logger;
  readonly #statusCacheMs: number;
  readonly #statusTimeoutMs: number;
  #snapshot: { at: number; promise: Promise<ServiceStatus | undefined> } | undefined;
  #attached = false;

  readonly #duration: Histogram<'queue' | 'outcome'>;
  readonly #scaling: Counter<'queue' | 'direction'>;
  readonly #bridged: Counter<'queue'>;
  readonly #invalid: Counter<'queue'>;
  readonly #duplicates: Counter<'queue'>;
  readonly #invalidDropped: Counter<'queue'>;
  readonly #oversizedDropped: Counter<'queue'>;
  readonly #browserRestarts: Counter<'queue' | 'reason'>;
  readonly #browserMemory: Gauge<'queue' | 'worker'>;

  readonly #onFinished = (info: ServiceEventMap['job-finished'][0]): void =>
    this.#duration.observe({ queue: info.queue, outcome: info.outcome }, info.durationMs / 1000);
  readonly #onScaled = (info: ServiceEventMap['scaled'][0]): void =>
    this.#scaling.inc({ queue: info.queue, direction: info.action });
  readonly #onBridged = (info: ServiceEventMap['bridged'][0]): void =>
    this.#bridged.inc({ queue: info.queue }, info.count);
  readonly #onInvalid = (info: ServiceEventMap['invalid'][0]): void => this.#invalid.inc({ queue: info.queue });
  readonly #onDuplicate = (info: ServiceEventMap['duplicate'][0]): void => this.#duplicates.inc({ queue: info.queue });
  readonly #onInvalidDropped = (info: ServiceEventMap['invalid-dropped'][0]): void =>
    this.#invalidDropped.inc({ queue: info.queue }, info.count);
  readonly #onOversizedDropped = (info: ServiceEventMap['oversized-dropped'][0]): void =>
    this.#oversizedDropped.inc({ queue: info.queue });
  readonly #onBrowserRestart = (info: ServiceEventMap['browser-restart'][0]): void =>
    this.#browserRestarts.inc({ queue: info.queue, reason: info.reason });
  readonly #onBrowserMemory = (info: ServiceEventMap['browser-memory'][0]): void => {
    const labels = { queue: info.queue, worker: info.worker };
    if (info.pssBytes === null) this.#browserMemory.remove(labels);
    else this.#browserMemory.set(labels, info.pssBytes);
  };

  constructor(options: ServiceMetricsOptions) {
    this.#status = options.status;
    this.#events = options.events;
    this.#logger = options.logger;
    this.#statusCacheMs = options.statusCacheMs ?? 1000;
    this.#statusTimeoutMs = options.statusTimeoutMs ?? 5000;
    const registers = [this.registry];

    collectDefaultMetrics({ register: this.registry });
    // Gauges named `_total` fail `promtool check metrics`; their per-type twins without the
    // suffix (nodejs_active_handles{type}, ...) stay and sum to the same number.
    for (const name of NON_COUNTER_TOTALS) this.registry.removeSingleMetric(name);

    const statusUp = new Gauge({
      name: 'rpa_status_up',
      help: '1 when the last scrape could read the service status (Redis answered), else 0',
      registers,
      collect: async () => {
        statusUp.set((await this.#snapshotStatus())?.redis === 'up' ? 1 : 0);
      },
    });
    registerQueueGauges(registers, () => this.#snapshotStatus(), [
      ...QUEUE_GAUGES.map((spec) => ({ ...spec, value: (q: QueueStatus) => Number(q[spec.field]) })),
      ...INVALID_LIST_GAUGES,
      {
        name: 'rpa_queue_deadlines_at_risk',
        help: 'Waiting or postponed jobs expected to start after their deadline (prazo) at the pool drain rate',
        value: (q: QueueStatus) => q.deadlines.atRisk,
      },
    ]);
    const instances = new Gauge({
      name: 'rpa_pool_instances',
      help: 'Live instances sharing this Redis (this one included)',
      registers,
      collect: async () => {
        const status = await this.#snapshotStatus();
        instances.reset();
        if (status) instances.set(status.instances.length);
      },
    });
    // Per instance of the pool, as this instance reads the registry (any instance shows them all).
    const instanceWorkers: Gauge<'instance_id' | 'queue'> = new Gauge({
      name: 'rpa_instance_workers',
      help: 'Live worker units per instance and queue (rpa_workers is their sum over instances)',
      labelNames: ['instance_id', 'queue'],
      registers,
      collect: async () => {
        const status = await this.#snapshotStatus();
        instanceWorkers.reset();
        for (const i of status?.instances ?? [])
          for (const [queue, n] of Object.entries(i.units)) instanceWorkers.set({ instance_id: i.id, queue }, n);
      },
    });
    const instanceCapacity: Gauge<'instance_id'> = new Gauge({
      name: 'rpa_instance_capacity',
      help: 'Most worker units per instance (instance.maxWorkers)',
      labelNames: ['instance_id'],
      registers,
      collect: async () => {
        const status = await this.#snapshotStatus();
        instanceCapacity.reset();
        for (const i of status?.instances ?? []) instanceCapacity.set({ instance_id: i.id }, i.capacity);
      },
    });
    const heartbeatAge: Gauge<'instance_id'> = new Gauge({
      name: 'rpa_instance_heartbeat_age_seconds',
      help: 'Age of each live instance’s last heartbeat',
      labelNames: ['instance_id'],
      registers,
      collect: async () => {
        const status = await this.#snapshotStatus();
        heartbeatAge.reset();
        for (const i of status?.instances ?? []) heartbeatAge.set({ instance_id: i.id }, i.heartbeatAgeMs / 1000);
      },
    });
    const totalWorkers = new Gauge({
      name: 'rpa_max_total_workers',
      help: 'Worker ceiling over all queues (scaler.maxTotalWorkers)',
      registers,
      collect: async () => {
        const status = await this.#snapshotStatus();
        totalWorkers.reset();
        if (status) totalWorkers.set(status.maxTotalWorkers);
      },
    });

    // From this process alone: it must read 1 while Redis does not answer this instance.
    const fenced: Gauge = new Gauge({
      name: 'rpa_instance_fenced',
      help: '1 while this instance has fenced itself (no heartbeat reached Redis for lease − 1 beat: its units closed)',
      registers,
      collect: () => void fenced.set(this.#status.fence?.()?.fenced ? 1 : 0),
    });
    registerCapacityGauges(registers, () => this.#snapshotStatus());

    this.#duration = new Histogram({
      name: 'rpa_job_duration_seconds',
      help: 'Duration of job attempts by outcome (ok, error = last attempt failed, retry = will be retried, expired = deadline passed, not run)',
      labelNames: ['queue', 'outcome'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.#scaling = new Counter({
      name: 'rpa_scaling_events_total',
      help: 'Scaler decisions that change a queue worker count, by direction (up, down); with several instances only the one reporting decisions counts them, so the sum over instances is the global count',
      labelNames: ['queue', 'direction'],
      registers,
    });
    this.#bridged = new Counter({
      name: 'rpa_bridged_items_total',
      help: 'Items moved from the source list into BullMQ jobs',
      labelNames: ['queue'],
      registers,
    });
    this.#invalid = new Counter({
      name: 'rpa_invalid_items_total',
      help: 'Items moved to the invalid list (not a JSON object, too large)',
      labelNames: ['queue'],
      registers,
    });
    this.#duplicates = new Counter({
      name: 'rpa_duplicate_items_total',
      help: 'Items not run again because a job with the same id is retained',
      labelNames: ['queue'],
      registers,
    });
    this.#invalidDropped = new Counter({
      name: 'rpa_invalid_dropped_total',
      help: 'Oldest invalid-list entries dropped to keep the list within bridge.invalidMaxItems / invalidMaxBytes',
      labelNames: ['queue'],
      registers,
    });
    this.#oversizedDropped = new Counter({
      name: 'rpa_oversized_dropped_total',
      help: 'Oversized items whose bytes were dropped because <sourceList>:invalid:oversized was full (their invalid entry keeps length, hash and start)',
      labelNames: ['queue'],
      registers,
    });
    this.#browserRestarts = new Counter({
      name: 'rpa_browser_restarts_total',
      help: 'Browser relaunches by reason: crash, jobs (browser.recycleAfterJobs), memory (browser.maxMemoryMb), unresponsive',
      labelNames: ['queue', 'reason'],
      registers,
    });
    this.#browserMemory = new Gauge({
      name: 'rpa_browser_memory_bytes',
      help: "PSS of a worker unit's whole browser process tree (browser, zygotes, renderers, GPU, utility), measured between jobs",
      labelNames: ['queue', 'worker'],
      registers,
    });
  }

  /** Starts counting service events. Idempotent. */
  start(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#events.on('job-finished', this.#onFinished);
    this.#events.on('scaled', this.#onScaled);
    this.#events.on('bridged', this.#onBridged);
    this.#events.on('invalid', this.#onInvalid);
    this.#events.on('duplicate', this.#onDuplicate);
    this.#events.on('invalid-dropped', this.#onInvalidDropped);
    this.#events.on('oversized-dropped', this.#onOversizedDropped);
    this.#events.on('browser-restart', this.#onBrowserRestart);
    this.#events.on('browser-memory', this.#onBrowserMemory);
  }

  /** Stops counting service events. Idempotent. */
  close(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#events.off('job-finished', this.#onFinished);
    this.#events.off('scaled', this.#onScaled);
    this.#events.off('bridged', this.#onBridged);
    this.#events.off('invalid', this.#onInvalid);
    this.#events.off('duplicate', this.#onDuplicate);
    this.#events.off('invalid-dropped', this.#onInvalidDropped);
    this.#events.off('oversized-dropped', this.#onOversizedDropped);
    this.#events.off('browser-restart', this.#onBrowserRestart);
    this.#events.off('browser-memory', this.#onBrowserMemory);
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The status for this scrape: undefined when it cannot be read (the gauges go empty). */
  #snapshotStatus(): Promise<ServiceStatus | undefined> {
    const now = Date.now();
    if (this.#snapshot && now - this.#snapshot.at >= 0 && now - this.#snapshot.at < this.#statusCacheMs) {
      return this.#snapshot.promise;
    }
    const promise = withTimeout(this.#status.status(), this.#statusTimeoutMs, 'status').catch((err: unknown) => {
      this.#logger.debug(`métricas: estado indisponível: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    this.#snapshot = { at: now, promise };
    return promise;
  }
}
