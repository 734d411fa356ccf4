import { Gauge, type Registry } from 'prom-client';
import type { CapacityStatus, ServiceStatus } from '../shared/status.js';

type Snapshot = () => Promise<ServiceStatus | undefined>;

const CAPACITY_GAUGES: readonly { name: string; help: string; value: (c: CapacityStatus) => number | null }[] = [
  { name: 'rpa_capacity_units', help: 'Worker units this instance can run now (capacity)', value: (c) => c.units },
  {
    name: 'rpa_capacity_overloaded',
    help: '1 while the start gate is closed (the machine is overloaded in the short window)',
    value: (c) => (c.overloaded ? 1 : 0),
  },
  {
    name: 'rpa_capacity_cores',
    help: 'Cores this instance may use (cgroup quota or processors)',
    value: (c) => c.cores,
  },
  {
    name: 'rpa_load_cpu_ratio',
    help: 'CPU in use by anyone, share of the cores (short window)',
    value: (c) => (c.cpuPercent === null ? null : c.cpuPercent / 100),
  },
  {
    name: 'rpa_load_own_cores',
    help: 'Cores used by this process and its browsers (short window)',
    value: (c) => c.ourCores,
  },
  { name: 'rpa_load_other_cores', help: 'Cores used by other processes (short window)', value: (c) => c.otherCores },
  {
    name: 'rpa_load_memory_used_bytes',
    help: 'Memory in use (cgroup, else the machine)',
    value: (c) => mb(c.memoryUsedMb),
  },
  {
    name: 'rpa_load_memory_limit_bytes',
    help: 'Memory limit (cgroup, else the machine)',
    value: (c) => mb(c.memoryLimitMb),
  },
  {
    name: 'rpa_load_browsers_memory_bytes',
    help: "PSS of all this instance's browser process trees",
    value: (c) => mb(c.browserMb),
  },
  {
    name: 'rpa_load_event_loop_delay_seconds',
    help: 'Event-loop delay p99, worst second of the short window',
    value: (c) => (c.eventLoopDelayMs === null ? null : c.eventLoopDelayMs / 1000),
  },
];

type QueueStatusOf = ServiceStatus['queues'][number];

/**
 * One gauge per spec with a `queue` label, read from the status at scrape time; reset first, so a
 * queue that disappeared (or a status that failed) leaves no stale series. `null`: no series.
 */
export function registerQueueGauges(
  registers: Registry[],
  snapshot: Snapshot,
  specs: readonly { name: string; help: string; value: (q: QueueStatusOf) => number | null }[],
): void {
  for (const spec of specs) {
    const gauge: Gauge<'queue'> = new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: ['queue'],
      registers,
      collect: async () => {
        gauge.reset();
        for (const q of (await snapshot())?.queues ?? []) {
          const value = spec.value(q);
          if (value !== null) gauge.set({ queue: q.name }, value);
        }
      },
    });
  }
}

function mb(value: number | null): number | null {
  return value === null ? null : value * 1024 * 1024;
}

/** Capacity, load signals, and per queue the divisor in effect and the observed job time. */
export function registerCapacityGauges(registers: Registry[], snapshot: Snapshot): void {
  for (const spec of CAPACITY_GAUGES) {
    const gauge: Gauge = new Gauge({
      name: spec.name,
      help: spec.help,
      registers,
      collect: async () => {
        gauge.reset();
        const c = (await snapshot())?.capacity;
        const value = c ? spec.value(c) : null;
        if (value !== null) gauge.set(value);
      },
    });
  }
  const limited: Gauge<'signal'> = new Gauge({
    name: 'rpa_capacity_limited_by',
    help: 'The signal that bounds capacity now (1 for that signal: cpu, memory, memoryBudget, maxUnits, none)',
    labelNames: ['signal'],
    registers,
    collect: async () => {
      limited.reset();
      const c = (await snapshot())?.capacity;
      if (c?.limitedBy) limited.set({ signal: c.limitedBy }, 1);
    },
  });
  const perQueue: {
    name: string;
    help: string;
    value: (s: NonNullable<ServiceStatus['queues'][number]['scaling']>) => number | null;
  }[] = [
    {
      name: 'rpa_queue_divisor',
      help: 'Divisor of the scaling rule in effect (jobsPerWorker, or T/S when learned)',
      value: (s) => s.divisor,
    },
    {
      name: 'rpa_queue_job_seconds',
      help: 'Observed job time S: rolling median of successful attempts',
      value: (s) => s.jobSeconds,
    },
    {
      name: 'rpa_queue_knee_workers',
      help: "Units the portal's knee holds the queue at (more stopped raising completions); absent: no knee",
      value: (s) => (s.knee ? s.knee.workers : null),
    },
  ];
  registerQueueGauges(
    registers,
    snapshot,
    perQueue.map((spec) => ({ ...spec, value: (q) => (q.scaling ? spec.value(q.scaling) : null) })),
  );
  const perUnit: Gauge<'queue'> = new Gauge({
    name: 'rpa_capacity_cpu_per_unit',
    help: 'Measured cores one busy unit of the queue uses (its browser and its share of Node); absent before a measurement',
    labelNames: ['queue'],
    registers,
    collect: async () => {
      perUnit.reset();
      for (const [queue, cores] of Object.entries((await snapshot())?.capacity?.cpuPerUnit ?? {}))
        if (cores !== null) perUnit.set({ queue }, cores);
    },
  });
  const bound: Gauge<'queue' | 'bound'> = new Gauge({
    name: 'rpa_queue_bound',
    help: 'What held the queue target at the last decision (1 for: rule, total, capacity, overload, stabilizing, knee, rateLimit)',
    labelNames: ['queue', 'bound'],
    registers,
    collect: async () => {
      bound.reset();
      for (const q of (await snapshot())?.queues ?? [])
        if (q.scaling) bound.set({ queue: q.name, bound: q.scaling.bound }, 1);
    },
  });
}
