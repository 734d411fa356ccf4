/**
 * Every alert kind in one table: what it reads and how it is measured. Adding a kind is one entry
 * here (the type makes it required), its measure in rule-measure.ts, and its name in
 * config/alert-rules.ts (ALERT_KINDS) and config/types.ts (AlertRule).
 */
import type { AlertRule } from '../config/types.js';
import type { OutcomeCounts } from '../shared/pool-history.js';
import type { ServiceStatus } from '../shared/status.js';
import {
  measureBacklog,
  measureBridgeStuck,
  measureDeadlineRisk,
  measureFailureRatio,
  measureInvalid,
  measureInvalidListFill,
  measureWorkers,
  type RuleMeasure,
} from './rule-measure.js';

/** What one evaluation read: each part undefined when no rule needs it or it could not be read. */
export interface RuleInputs {
  /** The global status (pending, workers, deadlines are the pool's). */
  readonly status?: ServiceStatus;
  /** The pool's outcomes per window length (seconds): queue → counts, '' all queues. */
  readonly outcomes?: ReadonlyMap<number, Readonly<Record<string, OutcomeCounts>>>;
  /** Per queue, the longest a bridge of the pool reports being stuck, seconds. */
  readonly bridgeStuck?: Readonly<Record<string, number>>;
}

/** One kind of rule. */
export interface KindSpec {
  /** The input it is measured on (the monitor reads each input once per evaluation). */
  readonly reads: 'status' | 'outcomes' | 'bridgeStuck';
  /**
   * true: breached only once above the threshold for `forSeconds` without a break (the start is
   * kept in the pool's alert ledger); false: `forSeconds` is a counting window, or unused.
   */
  readonly sustained: boolean;
  /**
   * The measure, or undefined when the rule's queue is unknown. Called only when its input was
   * read (`windowSeconds`: the rule's counting window, for `outcomes` kinds).
   */
  measure(rule: AlertRule, inputs: RuleInputs, windowSeconds: number): RuleMeasure | undefined;
}

function outcomesOf(rule: AlertRule, inputs: RuleInputs, windowSeconds: number): OutcomeCounts | undefined {
  return inputs.outcomes?.get(windowSeconds)?.[rule.queue];
}

export const RULE_KINDS: Readonly<Record<AlertRule['kind'], KindSpec>> = {
  workersAbove: {
    reads: 'status',
    sustained: false,
    measure: (rule, { status }) => (status ? measureWorkers(rule, status) : undefined),
  },
  backlogAbove: {
    reads: 'status',
    sustained: true,
    measure: (rule, { status }) => (status ? measureBacklog(rule, status) : undefined),
  },
  deadlineAtRisk: {
    reads: 'status',
    sustained: true,
    measure: (rule, { status }) => (status ? measureDeadlineRisk(rule, status) : undefined),
  },
  bridgeStuckAbove: {
    reads: 'bridgeStuck',
    sustained: false,
    measure: (rule, { bridgeStuck }) => (bridgeStuck ? measureBridgeStuck(rule, bridgeStuck) : undefined),
  },
  failureRatioAbove: {
    reads: 'outcomes',
    sustained: false,
    measure: (rule, inputs, windowSeconds) => {
      const counts = outcomesOf(rule, inputs, windowSeconds);
      return counts && measureFailureRatio(rule, counts, windowSeconds);
    },
  },
  invalidListFillAbove: {
    reads: 'status',
    sustained: false,
    measure: (rule, { status }) => (status ? measureInvalidListFill(rule, status) : undefined),
  },
  invalidAbove: {
    reads: 'outcomes',
    sustained: false,
    measure: (rule, inputs, windowSeconds) => {
      const counts = outcomesOf(rule, inputs, windowSeconds);
      return counts && measureInvalid(rule, counts, windowSeconds);
    },
  },
};
