/**
 * The portal's knee, pure: when more units stop raising a queue's completions per minute and its
 * job time grows in proportion, the extra units only wait in the portal's queue (or hammer it
 * into errors). Hold at the knee, and probe one unit above it now and then while a backlog
 * remains, in case the portal takes more again.
 *
 * Each level (number of live units) is measured once it has run long enough with a backlog (every
 * unit busy) and settled (its units finished `settleRounds` jobs each at it, so what the previous
 * level left queued at the portal has drained): the mean time of the jobs started since, and
 * completions per minute as units ÷ that time (Little's law; a portal serving K at once ends jobs
 * in clumps of K, which a count over seconds misreads), or the count where units sit idle between
 * jobs. Two measured levels L < H show a knee at L when H gained less than `maxGainShare` of the
 * proportional gain and its job time grew by more than `minGrowthShare` of the proportional
 * growth. A pool that started above the knee has one level only: when its jobs
 * take clearly longer than the quickest ones (the portal's queue), the units the portal actually
 * serves are throughput × quickest job time (Little's law), and the pool steps down to them to
 * measure a second level. The quickest jobs are those seen lately (p10), kept across decisions: a
 * burst's first jobs finish before the portal's queue forms. Where every job queues (a flow of
 * several requests against a portal that serves K at once), no job is quick: the pool then steps
 * down a share of its units once to measure a lower level, if the backlog is long enough to pay
 * for it (a minute at the current rate); a portal with room shows the lower level slower in
 * proportion, and the rule runs again.
 */
import type { KneeLevel } from '../shared/scaling-reason.js';

/** One finished job: when (ms since epoch) and how long it took (ms). */
export interface FinishedJob {
  readonly at: number;
  readonly ms: number;
}

export interface KneeOptions {
  /** A level is measured over at least this long (and three job times) after it settled. @defaultValue 6000 */
  readonly settleMs: number;
  /**
   * A level has settled once its units finished this many jobs each (as many completions): the
   * first round still waits behind what the previous level left queued at the portal. @defaultValue 2
   */
  readonly settleRounds: number;
  /** A level is measured over its last this long at most (it follows a portal that changes). @defaultValue 120000 */
  readonly windowMs: number;
  /** Fewest completions that measure a level. @defaultValue 8 */
  readonly minCompletions: number;
  /** First wait before probing one unit above the knee; doubles after each probe that gains nothing. @defaultValue 60000 */
  readonly probeEveryMs: number;
  /** Longest wait between probes. @defaultValue 600000 */
  readonly maxProbeEveryMs: number;
  /** Measured levels older than this are forgotten (the portal changes). @defaultValue 600000 */
  readonly levelTtlMs: number;
  /** H over L is saturated when it gained less than this share of the proportional gain. @defaultValue 0.3 */
  readonly maxGainShare: number;
  /** ...and its job time grew by more than this share of the proportional growth. @defaultValue 0.5 */
  readonly minGrowthShare: number;
  /** One level only: step down when jobs take this much longer than the quickest ones... @defaultValue 1.2 */
  readonly minInflation: number;
  /** ...by at least this many ms (short jobs jitter), and at least one unit waits. @defaultValue 200 */
  readonly minGrowthMs: number;
  /**
   * One level only and no quickest job shows the portal's queue (flows of several requests all
   * queue): step down this share of the units (at least one) to measure a lower level, once per
   * `levelTtlMs`, and only while the backlog lasts `minProbeBacklogMs` more at the current rate.
   * @defaultValue 0.3
   */
  readonly stepDownShare: number;
  /** @defaultValue 60000 */
  readonly minProbeBacklogMs: number;
  /** ...and only when the mean job takes this much longer than the quickest (jobs vary; a sleep does not). @defaultValue 1.02 */
  readonly minSpread: number;
}

export const DEFAULT_KNEE: KneeOptions = Object.freeze({
  settleMs: 6_000,
  settleRounds: 2,
  windowMs: 120_000,
  minCompletions: 8,
  probeEveryMs: 60_000,
  maxProbeEveryMs: 600_000,
  levelTtlMs: 600_000,
  maxGainShare: 0.3,
  minGrowthShare: 0.5,
  minInflation: 1.2,
  minGrowthMs: 200,
  stepDownShare: 0.3,
  minProbeBacklogMs: 60_000,
  minSpread: 1.02,
});

interface MeasuredLevel extends KneeLevel {
  readonly at: number;
}

/** What the knee search remembers of one queue between decisions. */
export interface KneeState {
  /** Live units of the level being watched, and since when. */
  readonly level: number;
  readonly since: number;
  readonly levels: Readonly<Record<number, MeasuredLevel>>;
  /** Probing one unit above the knee: next at `nextAt`, every `everyMs`; `since` while one runs. */
  readonly probe?: { readonly nextAt: number; readonly everyMs: number; readonly since?: number };
  /** The quickest jobs lately (p10 of the finished ones, the lowest seen within the level TTL). */
  readonly quick?: { readonly ms: number; readonly at: number };
  /** A step down estimated from one level (Little's law); no other before `quietUntil`. */
  readonly stepDown?: { readonly estimate: KneeLevel; readonly from: KneeLevel };
  readonly quietUntil?: number;
}

/** What the search sees of one queue now. */
export interface KneeObservation {
  /** Live units (global). */
  readonly current: number;
  readonly pending: number;
  /** Recently finished jobs (any order). */
  readonly finished: readonly FinishedJob[];
}

/** The cap the knee puts on the queue's units, and why; undefined: no knee. */
export interface KneeCap {
  readonly workers: number;
  readonly below: KneeLevel;
  readonly above: KneeLevel;
  readonly probing: boolean;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Units ÷ job time stands for a level's completions while the count reaches at least this share of it. */
const LITTLE_AGREES = 0.75;

/** Completions per minute and mean job time of the jobs finished in (from, to]; undefined when too few. */
function measure(
  finished: readonly FinishedJob[],
  from: number,
  to: number,
  workers: number,
  o: KneeOptions,
): MeasuredLevel | undefined {
  // The records kept may not reach back to `from` (the last 200 jobs): count only where they do.
  const oldest = finished.reduce((min, f) => Math.min(min, f.at), Infinity);
  if (finished.length >= 200 && oldest > from) from = oldest;
  from = Math.max(from, to - o.windowMs);
  const inside = finished.filter((f) => f.at > from && f.at <= to);
  // The job time of the level: jobs that started within it (one that ended inside may have waited
  // behind the requests of units the level retired).
  const started = inside.filter((f) => f.at - f.ms >= from);
  if (started.length < o.minCompletions) return undefined;
  // The mean, not the median: with every unit busy, units = completions × mean time (Little's law).
  const jobMs = started.reduce((sum, f) => sum + f.ms, 0) / started.length;
  if (to - from < Math.max(o.settleMs, 3 * jobMs)) return undefined;
  const counted = (inside.length * 60_000) / (to - from);
  // Every unit busy (the level is measured only with a backlog): completions per minute = units ÷
  // mean job time. The count over a window of seconds reads a portal that serves K at once as
  // clumps of K completions (±12% on one level, as much as a unit's gain); the mean job time does
  // not. Units that sit idle between jobs (a rate limit, a slow fetch) show as a count well below
  // it: then the count is what they deliver.
  const little = (workers * 60_000) / jobMs;
  const perMinute = counted >= LITTLE_AGREES * little ? little : counted;
  return { workers, perMinute, jobSeconds: jobMs / 1000, at: to };
}

/** True when `high` units gained too little over `low` while their jobs took longer in proportion. */
export function saturated(low: KneeLevel, high: KneeLevel, o: KneeOptions = DEFAULT_KNEE): boolean {
  if (high.workers <= low.workers || low.perMinute <= 0 || low.jobSeconds <= 0) return false;
  const more = high.workers / low.workers - 1;
  const gain = (high.perMinute / low.perMinute - 1) / more;
  const growth = (high.jobSeconds / low.jobSeconds - 1) / more;
  return gain < o.maxGainShare && growth > o.minGrowthShare;
}

const plain = (l: MeasuredLevel): KneeLevel => ({
  workers: l.workers,
  perMinute: l.perMinute,
  jobSeconds: l.jobSeconds,
});

/** The knee among measured levels: the lowest level its next measured level above saturates. */
function kneeOf(
  levels: Readonly<Record<number, MeasuredLevel>>,
  o: KneeOptions,
): [MeasuredLevel, MeasuredLevel] | undefined {
  const ordered = Object.values(levels).sort((a, b) => a.workers - b.workers);
  for (let i = 0; i + 1 < ordered.length; i++) {
    const low = ordered[i] as MeasuredLevel;
    const high = ordered[i + 1] as MeasuredLevel;
    if (saturated(low, high, o)) return [low, high];
  }
  return undefined;
}

/**
 * One step of the search: the new state and the cap on the queue's units (undefined: none).
 * Call it at every decision with the queue's live units, backlog and recent jobs.
 *
 * Once a knee L is found (L + 1, or the next level measured above, adds nothing), the search
 * steps down one unit at a time while the lower level loses nothing either, holds at the lowest
 * level that keeps the completions, and probes one above it now and then (less often each time
 * the probe shows no gain).
 */
export function observeKnee(
  previous: KneeState | undefined,
  obs: KneeObservation,
  now: number,
  o: KneeOptions = DEFAULT_KNEE,
): { state: KneeState; cap: KneeCap | undefined } {
  const levels: Record<number, MeasuredLevel> = {};
  for (const [n, l] of Object.entries(previous?.levels ?? {}))
    if (now - l.at <= o.levelTtlMs && l.at <= now) levels[Number(n)] = l;
  const moved = !previous || previous.level !== obs.current || previous.since > now;
  const since = moved ? now : previous.since;
  let probe = previous?.probe;
  let stepDown = previous?.stepDown;
  let quietUntil = previous?.quietUntil;
  // The quickest jobs seen lately: what a job takes when nothing queues (a burst's first jobs show it
  // before every unit waits in the portal's queue).
  let quick = previous?.quick && now - previous.quick.at <= o.levelTtlMs ? previous.quick : undefined;
  const recentMs = obs.finished.filter((f) => now - f.at <= o.levelTtlMs).map((f) => f.ms);
  if (recentMs.length >= 10) {
    const p10 = quantile(
      recentMs.sort((a, b) => a - b),
      0.1,
    );
    if (!quick || p10 <= quick.ms) quick = { ms: p10, at: now };
  }

  // Measure the level while every unit has work, from when each unit has finished `settleRounds`
  // jobs at it: the jobs started at the previous level are out, so are new units' first jobs
  // (launch, login), and the requests retired units left queued at the portal have drained.
  if (obs.current > 0 && obs.pending > 0 && !moved) {
    const settling = obs.current * o.settleRounds;
    const round = obs.finished
      .filter((f) => f.at > since)
      .sort((a, b) => a.at - b.at)
      .slice(0, settling);
    if (round.length === settling) {
      const level = measure(obs.finished, (round.at(-1) as FinishedJob).at, now, obs.current, o);
      if (level) levels[obs.current] = level;
    }
  }
  const result = (cap: KneeCap | undefined): { state: KneeState; cap: KneeCap | undefined } => ({
    state: {
      level: obs.current,
      since,
      levels,
      ...(probe ? { probe } : {}),
      ...(quick ? { quick } : {}),
      ...(stepDown ? { stepDown } : {}),
      ...(quietUntil !== undefined ? { quietUntil } : {}),
    },
    cap,
  });
  // No backlog: nothing to hold back (what was measured is kept for the next burst).
  if (obs.pending === 0) {
    stepDown = undefined;
    if (probe?.since !== undefined) probe = { nextAt: probe.nextAt, everyMs: probe.everyMs };
    return result(undefined);
  }

  let knee = kneeOf(levels, o);
  if (knee && probe?.since !== undefined) {
    const [low] = knee;
    const above = levels[low.workers + 1];
    if (above && above.at > probe.since) {
      if (saturated(low, above, o)) {
        const everyMs = Math.min(o.maxProbeEveryMs, probe.everyMs * 2);
        probe = { nextAt: now + everyMs, everyMs };
      } else {
        // The portal takes more now: what was measured above the probe is stale.
        for (const n of Object.keys(levels)) if (Number(n) > low.workers + 1) delete levels[Number(n)];
        probe = undefined;
        knee = kneeOf(levels, o);
      }
    }
  }
  if (knee) {
    const [low, high] = knee;
    stepDown = undefined;
    probe ??= { nextAt: now + o.probeEveryMs, everyMs: o.probeEveryMs };
    const reason = { below: plain(low), above: plain(high) };
    // One below the knee until a step down loses completions.
    if (low.workers > 1 && !levels[low.workers - 1])
      return result({ workers: low.workers - 1, ...reason, probing: true });
    if (probe.since === undefined && now >= probe.nextAt) probe = { ...probe, since: now };
    const probing = probe.since !== undefined;
    return result({ workers: low.workers + (probing ? 1 : 0), ...reason, probing });
  }
  probe = undefined;

  if (stepDown) {
    const fresh = levels[stepDown.estimate.workers];
    if (obs.current === stepDown.estimate.workers && fresh && fresh.at >= since) {
      // The lower level was measured and is not saturated by the higher one: no knee; quiet a while.
      stepDown = undefined;
      quietUntil = now + o.probeEveryMs;
      return result(undefined);
    }
    return result({
      workers: stepDown.estimate.workers,
      below: stepDown.estimate,
      above: stepDown.from,
      probing: true,
    });
  }

  // One level only, started above the knee? Units the portal serves = throughput × quickest job time.
  const current = levels[obs.current];
  if (current && quick && obs.current > 1 && (quietUntil === undefined || now >= quietUntil)) {
    const quickMs = quick.ms;
    const jobMs = current.jobSeconds * 1000;
    const served = (current.perMinute / 60_000) * quickMs;
    if (jobMs >= quickMs * o.minInflation && jobMs - quickMs >= o.minGrowthMs && obs.current - served >= 1) {
      const workers = Math.max(1, Math.ceil(served));
      stepDown = {
        estimate: { workers, perMinute: current.perMinute, jobSeconds: quickMs / 1000 },
        from: plain(current),
      };
      quietUntil = undefined;
      return result({ workers, below: stepDown.estimate, above: stepDown.from, probing: true });
    }
    // Every job queued at the portal (flows of several requests), so the quickest ones hide the
    // queue: measure a lower level once, while the backlog is long enough to pay for the probe.
    // Jobs of one fixed length (no portal in them: echo) do not queue anywhere: nothing to probe.
    const lowerKnown = Object.keys(levels).some((n) => Number(n) < obs.current);
    const backlogMs = current.perMinute > 0 ? (obs.pending / current.perMinute) * 60_000 : 0;
    const spread = jobMs >= quickMs * o.minSpread;
    if (spread && !lowerKnown && obs.current >= 3 && backlogMs >= o.minProbeBacklogMs) {
      const workers = obs.current - Math.max(1, Math.round(obs.current * o.stepDownShare));
      stepDown = {
        estimate: { workers, perMinute: current.perMinute, jobSeconds: (current.jobSeconds * workers) / obs.current },
        from: plain(current),
      };
      quietUntil = undefined;
      return result({ workers, below: stepDown.estimate, above: stepDown.from, probing: true });
    }
  }
  return result(undefined);
}
