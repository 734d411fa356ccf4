import type { AlertRule, AppConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceStatus, StatusSource } from '../shared/status.js';
import type { OutcomeWindow } from '../shared/outcome-window.js';
import {
  measureBacklog,
  measureBridgeStuck,
  measureDeadlineRisk,
  measureFailureRatio,
  measureInvalid,
  measureInvalidListFill,
  measureWorkers,
  ruleScope,
  type RuleMeasure,
} from './rule-measure.js';
import { postAlert, type AlertPayload } from './webhook.js';

/** Options for {@link AlertMonitor}. */
export interface AlertMonitorOptions {
  readonly config: AppConfig['alerts'];
  readonly status: StatusSource;
  /** Recent job outcomes (the failure ratio); must keep at least {@link alertWindowMs}. Its owner starts and closes it. */
  readonly outcomes: OutcomeWindow;
  readonly logger: Logger;
  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
  /** Webhook request timeout. @defaultValue 5000 */
  readonly webhookTimeoutMs?: number;
}

/** One alert that fired (what {@link AlertMonitor.evaluate} returns, for callers and tests). */
export type FiredAlert = AlertPayload;

/**
 * Evaluates `alerts.rules` every `alerts.evaluateSeconds` against the service status and the
 * recent job outcomes. A breached rule logs `[ALERTA] <rule>: <message>` (warn) and, with
 * `alerts.webhookUrl` set, POSTs the alert as JSON; then it stays quiet for `cooldownSeconds`
 * even while the breach lasts. The clock is injectable; a clock that jumps backwards restarts
 * the timers from the new "now" instead of silencing a rule for the size of the jump.
 */
export class AlertMonitor {
  readonly #config: AppConfig['alerts'];
  readonly #status: StatusSource;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #webhookTimeoutMs: number;
  readonly #outcomes: OutcomeWindow;
  /** Rule name → when its backlog first went above the threshold (backlogAbove). */
  readonly #aboveSince = new Map<string, number>();
  /** Rule name → when it last fired. */
  readonly #lastFired = new Map<string, number>();
  readonly #unknownQueueWarned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<FiredAlert[]> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(options: AlertMonitorOptions) {
    this.#config = options.config;
    this.#status = options.status;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
    this.#webhookTimeoutMs = options.webhookTimeoutMs ?? 5000;
    this.#outcomes = options.outcomes;
  }

  /** Starts the periodic evaluation (no-op without rules, or when already started). */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    if (this.#config.rules.length === 0) return;
    this.#timer = setInterval(() => {
      // Skip a tick while the previous evaluation (a slow webhook) still runs.
      if (this.#running) return;
      this.evaluate().catch((err: unknown) => this.#logger.error(`avaliação de alertas falhou: ${String(err)}`));
    }, this.#config.evaluateSeconds * 1000);
    this.#timer.unref();
  }

  /** Stops the timer, waits for a running evaluation. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      await this.#running;
    } catch {
      // already logged by the caller of evaluate()
    }
  }

  /** Evaluates every rule once, now; resolves with the alerts that fired (after their webhooks). */
  evaluate(): Promise<FiredAlert[]> {
    const run = this.#evaluateOnce().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #evaluateOnce(): Promise<FiredAlert[]> {
    const rules = this.#config.rules;
    if (rules.length === 0) return [];
    let status: ServiceStatus | undefined;
    if (rules.some((r) => r.kind !== 'failureRatioAbove' && r.kind !== 'invalidAbove')) {
      try {
        status = await this.#status.status();
      } catch (err) {
        this.#logger.warn(`alertas: status indisponível, regras de workers/backlog puladas: ${String(err)}`);
      }
    }
    const now = this.#clock();
    const fired: FiredAlert[] = [];
    for (const rule of rules) {
      const breach = this.#check(rule, status, now);
      if (!breach) continue;
      const last = this.#lastFired.get(rule.name);
      if (last !== undefined && now < last) {
        // The clock went back: restart the cooldown from now (at most one cooldown of silence).
        this.#lastFired.set(rule.name, now);
        continue;
      }
      if (last !== undefined && now - last < this.#config.cooldownSeconds * 1000) continue;
      this.#lastFired.set(rule.name, now);
      fired.push({
        rule: rule.name,
        kind: rule.kind,
        queue: rule.queue,
        value: breach.value,
        threshold: rule.threshold,
        message: `${ruleScope(rule)}: ${breach.detail}`,
        at: new Date(now).toISOString(),
      });
    }
    for (const alert of fired) this.#logger.warn(`[ALERTA] ${alert.rule}: ${alert.message}`, { alert: alert.kind });
    const url = this.#config.webhookUrl;
    if (url && fired.length > 0) {
      await Promise.all(
        fired.map((payload) => postAlert({ url, payload, logger: this.#logger, timeoutMs: this.#webhookTimeoutMs })),
      );
    }
    return fired;
  }

  /** The measure when the rule is breached now, else undefined; keeps the backlog timers. */
  #check(rule: AlertRule, status: ServiceStatus | undefined, now: number): RuleMeasure | undefined {
    if (rule.kind === 'failureRatioAbove' || rule.kind === 'invalidAbove') {
      const windowSeconds = failureWindowSeconds(rule, this.#config);
      const counts = this.#outcomes.counts(rule.queue, windowSeconds * 1000);
      const m =
        rule.kind === 'invalidAbove'
          ? measureInvalid(rule, counts, windowSeconds)
          : measureFailureRatio(rule, counts, windowSeconds);
      return m.above ? m : undefined;
    }
    // No status this time: keep the backlog timer as it was rather than guess.
    if (!status) return undefined;
    const m =
      rule.kind === 'workersAbove'
        ? measureWorkers(rule, status)
        : rule.kind === 'deadlineAtRisk'
          ? measureDeadlineRisk(rule, status)
          : rule.kind === 'bridgeStuckAbove'
            ? measureBridgeStuck(rule, status)
            : rule.kind === 'invalidListFillAbove'
              ? measureInvalidListFill(rule, status)
              : measureBacklog(rule, status);
    if (!m) {
      if (!this.#unknownQueueWarned.has(rule.name)) {
        this.#unknownQueueWarned.add(rule.name);
        this.#logger.warn(`alerta '${rule.name}': fila '${rule.queue}' não existe; a regra nunca dispara`);
      }
      return undefined;
    }
    if (rule.kind === 'workersAbove' || rule.kind === 'bridgeStuckAbove' || rule.kind === 'invalidListFillAbove') {
      return m.above ? m : undefined;
    }
    if (!m.above) {
      this.#aboveSince.delete(rule.name);
      return undefined;
    }
    let since = this.#aboveSince.get(rule.name);
    if (since === undefined || since > now) {
      since = now;
      this.#aboveSince.set(rule.name, since);
    }
    const lastedSeconds = Math.floor((now - since) / 1000);
    if (now - since < rule.forSeconds * 1000) return undefined;
    if (rule.forSeconds === 0 && rule.kind === 'deadlineAtRisk') return m;
    return { ...m, detail: `${m.detail} há ${lastedSeconds}s` };
  }
}

/** The failure-ratio window: forSeconds, or one evaluation interval when it is 0. */
function failureWindowSeconds(rule: AlertRule, config: AppConfig['alerts']): number {
  return rule.forSeconds > 0 ? rule.forSeconds : config.evaluateSeconds;
}

/** How far back the monitor reads job outcomes: the outcome window must keep at least this. */
export function alertWindowMs(config: AppConfig['alerts']): number {
  return Math.max(config.evaluateSeconds * 1000, ...config.rules.map((r) => failureWindowSeconds(r, config) * 1000));
}
