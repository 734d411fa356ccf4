/**
 * Why a scaling decision or a capacity bound is what it is, as data: which bound held and the
 * numbers behind it. The pure decisions (src/scaler/decide.ts, src/capacity/capacity.ts) return
 * these; src/logging/scaling-lines.ts words them for operators (Portuguese). Tests assert on this
 * structure, not on the wording.
 */

/** What bounds the units of an instance (or of the pool, with several instances). */
export type CapacityLimit =
  | {
      readonly signal: 'cpu';
      readonly cores: number;
      /** Free CPU: cores × maxCpuRatio minus what other processes use. */
      readonly freeCores: number;
      readonly otherCores: number;
      readonly maxCpuRatio: number;
      /** Measured cores one busy unit of the queue uses (the mix's mean for the instance as a whole). */
      readonly perUnit: number;
    }
  | { readonly signal: 'memory'; readonly usedMb: number; readonly limitMb: number; readonly unitMb: number }
  | { readonly signal: 'memoryBudget'; readonly budgetMb: number; readonly unitMb: number }
  | { readonly signal: 'maxUnits'; readonly maxUnits: number }
  /** Several instances: the sum of what each publishes. */
  | { readonly signal: 'pool'; readonly instances: number; readonly units: number }
  /** Nothing bounds yet (no queue has a CPU measurement, no memory or unit limit applies). */
  | { readonly signal: 'none' };

export type CapacitySignal = CapacityLimit['signal'];

/** The CPU part of an instance's capacity (src/capacity computes it, src/scaler fits the queues into it). */
export interface CpuCapacity {
  readonly cores: number;
  /** cores × maxCpuRatio − otherCores (never below cores × minFreeCpuRatio). */
  readonly freeCores: number;
  readonly otherCores: number;
  readonly maxCpuRatio: number;
  /** Measured cores per busy unit, for the queues that have a measurement. */
  readonly perUnit: Readonly<Record<string, number>>;
  /** The short window's CPU is overloaded: running units may be cut to what fits. */
  readonly overloaded: boolean;
}

/** Why the start gate is closed. */
export type OverloadReason =
  | { readonly signal: 'memory'; readonly ratio: number }
  | {
      readonly signal: 'cpu';
      readonly maxCpuRatio: number;
      /** Share of the short window's samples at or above maxCpuRatio. */
      readonly share: number;
      readonly windowSeconds: number;
      readonly cores: number;
    }
  | { readonly signal: 'eventLoop'; readonly delayMs: number };

/** How the rule sized the queue before any cap. */
export type RuleReason =
  | {
      readonly kind: 'fixed';
      readonly pending: number;
      readonly jobsPerWorker: number;
      readonly minWorkers: number;
      readonly maxWorkers: number;
      readonly workers: number;
    }
  | {
      /** `jobsPerWorker: "auto"`: the backlog against the deadline fixed when it arrived. */
      readonly kind: 'learned';
      readonly pending: number;
      /** S: the observed job time. */
      readonly jobSeconds: number;
      /** Time left to the deadline of the most demanding part of the backlog (0: past it). */
      readonly secondsLeft: number;
      readonly targetDrainSeconds: number;
      readonly minWorkers: number;
      readonly maxWorkers: number;
      readonly workers: number;
    };

/** One measured level of the knee search: `workers` units gave `perMinute` completions. */
export interface KneeLevel {
  readonly workers: number;
  readonly perMinute: number;
  readonly jobSeconds: number;
}

/** Why a queue's target is what it is (the `bound` of the plan says which one held). */
export type PlanReason =
  | { readonly kind: 'rule'; readonly rule: RuleReason }
  | {
      readonly kind: 'total';
      readonly rule: RuleReason;
      readonly wanted: number;
      readonly maxTotalWorkers: number;
      readonly given: number;
    }
  | {
      readonly kind: 'capacity';
      readonly rule: RuleReason;
      readonly wanted: number;
      readonly given: number;
      readonly limit: CapacityLimit;
    }
  | {
      readonly kind: 'overload';
      readonly rule: RuleReason;
      readonly wanted: number;
      readonly overload: OverloadReason | undefined;
      /** The instance ran nothing: one unit per queue starts anyway (work keeps moving). */
      readonly firstOnly: boolean;
    }
  | {
      readonly kind: 'stabilizing';
      readonly excess: number;
      readonly elapsedSeconds: number;
      readonly windowSeconds: number;
    }
  /** A stabilizing excess let go before its window: another queue needs the room. */
  | { readonly kind: 'released'; readonly excess: number }
  | {
      /** More units stopped raising completions: hold at the knee (probing upward now and then). */
      readonly kind: 'knee';
      readonly rule: RuleReason;
      readonly wanted: number;
      readonly given: number;
      readonly below: KneeLevel;
      readonly above: KneeLevel;
      /** True when `given` is one above the knee, trying whether the portal now takes more. */
      readonly probing: boolean;
    }
  | {
      /** The queue's `rateLimit` lets no more units work at once (BullMQ's limiter holds the rest). */
      readonly kind: 'rateLimit';
      readonly rule: RuleReason;
      readonly wanted: number;
      readonly given: number;
      readonly max: number;
      readonly durationMs: number;
      readonly jobSeconds: number;
    };
