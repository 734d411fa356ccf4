/**
 * The CPU one busy unit of a queue uses, smoothed, from the samples of {@link UnitCpu}. Pure: the
 * samples go in, the estimates come out.
 *
 * Per queue, busy time B, CPU C and run-queue wait D are summed with an exponential decay whose
 * half-life is counted in busy unit-seconds (not wall time: a queue idle for an hour keeps its
 * estimate, a busy one follows changes within seconds), so noisy one-second samples average out.
 * A unit's job is CPU, waiting for a CPU and waiting for the portal; on a free machine it would
 * not wait for a CPU, so its cost is C ÷ (B − D), at most one core when the wait is overcounted.
 * On a machine our own units overfill, C ÷ B alone would fall as the units multiply (each gets
 * less) and the bound would never come down.
 *
 * A queue this instance has not measured can start from the pool's figure (another instance's, or
 * this one's before a restart: {@link UnitCost.seed}), weighted as `minBusySeconds` of evidence so
 * that the instance's own samples take over within a half-life of busy time.
 */

export interface UnitCostOptions {
  /** Evidence halves every this many busy unit-seconds. @defaultValue 30 (capacity.unitCpuHalfLifeSeconds) */
  readonly halfLifeBusySeconds: number;
  /** A queue has a measurement once its decayed busy time reaches this. @defaultValue 10 (capacity.unitCpuMinBusySeconds) */
  readonly minBusySeconds: number;
}

/** One queue's evidence and estimate. */
export interface QueueCost {
  /** Cores one busy unit uses; null before enough busy time was seen. */
  readonly perUnit: number | null;
  readonly busySeconds: number;
  readonly cpuSeconds: number;
  readonly waitSeconds: number;
  /** Where the estimate comes from: this instance's units, or the pool's figure it started from. */
  readonly from: 'local' | 'pool';
}

/** A queue's decayed sums: what {@link UnitCost} keeps, and what the pool shares. */
export interface CostEvidence {
  readonly busySeconds: number;
  readonly cpuSeconds: number;
  readonly waitSeconds: number;
}

interface Sums {
  busy: number;
  cpu: number;
  wait: number;
}

export class UnitCost {
  readonly #o: UnitCostOptions;
  readonly #sums = new Map<string, Sums>();
  /** Queues whose sums hold this instance's own samples (the others were seeded from the pool). */
  readonly #local = new Set<string>();
  /** Queues with samples added since {@link takeChanged} last ran. */
  readonly #changed = new Set<string>();

  constructor(options: UnitCostOptions) {
    this.#o = options;
  }

  /** Adds one interval's samples (queues without busy time are left as they are). */
  add(samples: Readonly<Record<string, { busySeconds: number; cpuSeconds: number; waitSeconds: number }>>): void {
    for (const [queue, s] of Object.entries(samples)) {
      if (!(s.busySeconds > 0)) continue;
      const sums = this.#sums.get(queue) ?? { busy: 0, cpu: 0, wait: 0 };
      const keep = 0.5 ** (s.busySeconds / this.#o.halfLifeBusySeconds);
      sums.busy = sums.busy * keep + s.busySeconds;
      sums.cpu = sums.cpu * keep + Math.max(0, s.cpuSeconds);
      sums.wait = sums.wait * keep + Math.max(0, s.waitSeconds);
      this.#sums.set(queue, sums);
      this.#local.add(queue);
      this.#changed.add(queue);
    }
  }

  /**
   * Starts a queue this instance has not measured from the pool's evidence, scaled to
   * `minBusySeconds` (a measurement, but a light one). Ignored once the queue has local samples,
   * and when the evidence is not a measurement itself. True when it took.
   */
  seed(queue: string, evidence: CostEvidence): boolean {
    if (this.#local.has(queue)) return false;
    const { busySeconds: busy, cpuSeconds: cpu, waitSeconds: wait } = evidence;
    if (!(busy >= this.#o.minBusySeconds) || !(cpu >= 0) || !(wait >= 0)) return false;
    const scale = this.#o.minBusySeconds / busy;
    this.#sums.set(queue, { busy: this.#o.minBusySeconds, cpu: cpu * scale, wait: wait * scale });
    return true;
  }

  /** Queues with a local measurement that changed since the last call, with their evidence (what the pool keeps). */
  takeChanged(): Record<string, CostEvidence> {
    const out: Record<string, CostEvidence> = {};
    for (const queue of this.#changed) {
      const s = this.#sums.get(queue);
      if (s && s.busy >= this.#o.minBusySeconds)
        out[queue] = { busySeconds: s.busy, cpuSeconds: s.cpu, waitSeconds: s.wait };
    }
    this.#changed.clear();
    return out;
  }

  /** True when the queue's estimate comes from this instance's own units. */
  isLocal(queue: string): boolean {
    return this.#local.has(queue);
  }

  /** Cores per busy unit of each queue that has a measurement. */
  perUnit(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [queue, cost] of Object.entries(this.view())) if (cost.perUnit !== null) out[queue] = cost.perUnit;
    return out;
  }

  view(): Record<string, QueueCost> {
    const out: Record<string, QueueCost> = {};
    for (const [queue, s] of this.#sums) {
      const measured = s.busy >= this.#o.minBusySeconds;
      // B − D, but never below C (one core at most) nor a tenth of B (a wildly overcounted wait).
      const running = Math.max(s.busy - s.wait, s.cpu, s.busy / 10);
      out[queue] = {
        perUnit: measured && running > 0 ? s.cpu / running : null,
        busySeconds: s.busy,
        cpuSeconds: s.cpu,
        waitSeconds: s.wait,
        from: this.#local.has(queue) ? 'local' : 'pool',
      };
    }
    return out;
  }
}
