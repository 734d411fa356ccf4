/**
 * The kinds of alert rule: workers above N, backlog above N for M minutes, failure ratio above X,
 * a bridge stuck (its batch failing while Redis answers) for more than N seconds, more than N
 * items sent to the invalid list within forSeconds, more than N items whose deadline (`prazo`) the
 * backlog will not reach in time, an invalid list fuller than a ratio of its bounds (before its
 * oldest entries are dropped).
 */
export const ALERT_KINDS = [
  'workersAbove',
  'backlogAbove',
  'failureRatioAbove',
  'bridgeStuckAbove',
  'invalidAbove',
  'deadlineAtRisk',
  'invalidListFillAbove',
] as const;

const RULE_KEYS = new Set(['name', 'kind', 'queue', 'threshold', 'forSeconds']);

/** Returns what is wrong with `alerts.rules`, or undefined when every rule is well-formed. */
export function checkAlertRules(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be an array of rules';
  for (const [i, rule] of value.entries()) {
    const at = `rule #${i}`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return `${at} must be an object`;
    const r = rule as Record<string, unknown>;
    for (const key of Object.keys(r)) if (!RULE_KEYS.has(key)) return `${at} has unknown key '${key}'`;
    if (typeof r.name !== 'string' || r.name === '') return `${at} needs a non-empty "name"`;
    if (!ALERT_KINDS.includes(r.kind as (typeof ALERT_KINDS)[number]))
      return `${at} "kind" must be one of ${ALERT_KINDS.join(', ')}`;
    if (r.queue !== undefined && typeof r.queue !== 'string') return `${at} "queue" must be a string`;
    if (typeof r.threshold !== 'number' || !(r.threshold >= 0)) return `${at} "threshold" must be a number >= 0`;
    if (
      r.forSeconds !== undefined &&
      (typeof r.forSeconds !== 'number' || !Number.isInteger(r.forSeconds) || r.forSeconds < 0)
    ) {
      return `${at} "forSeconds" must be an integer >= 0`;
    }
  }
  return undefined;
}
