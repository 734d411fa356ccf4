import type { AlertRule, AppConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import type { PoolHistorySource } from '../shared/pool-history.js';
import type { StatusSource } from '../shared/status.js';
import { LocalAlertLedger, type AlertLedger } from './alert-ledger.js';
import { ruleScope, type RuleMeasure } from './rule-measure.js';
import { RULE_KINDS, type RuleInputs } from './rule-kinds.js';
import { postAlert, type AlertPayload } from './webhook.js';

/** Options for {@link AlertMonitor}. */
export interface AlertMonitorOptions {
  readonly config: AppConfig['alerts'];
  /** The global status (workers, backlog, deadlines). */
  readonly status: StatusSource;
  /** The pool's history (failure ratio, invalid items, stuck bridges over every instance). */
  readonly history: PoolHistorySource;
  /**
   * Breach starts and last reports. The service passes the pool's (Redis), so each breach is
   * reported once per pool. @defaultValue a {@link LocalAlertLedger}
   */
  readonly ledger?: AlertLedger;
  /**
   * Whether this instance reports the pool's alerts now (alone, or first live by id, as the
   * scaler decides); the others skip their evaluations. @defaultValue always
   */
  readonly reporter?: () => boolean;
  readonly logger: Logger;
  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
  /** Webhook request timeout. @defaultValue 5000 */
  readonly webhookTimeoutMs?: number;
}

/** One alert that fired (what {@link AlertMonitor.evaluate} returns, for callers and tests). */
export type FiredAlert = AlertPayload;

/**
 * Evaluates `alerts.rules` every `alerts.evaluateSeconds` on the pool's numbers: the global status
 * and the pool history every instance writes to Redis. Only the reporting instance evaluates; a
 * breached rule it claims in the ledger (once per `cooldownSeconds` for the whole pool, even while
 * the breach lasts or the reporter changes) logs `[ALERTA] <rule>: <message>` (warn) and, with
 * `alerts.webhookUrl` set, POSTs the alert as JSON. The clock is injectable; a clock that jumps
 * backwards restarts the timers from the new "now" instead of silencing a rule for the jump.
 */
export class AlertMonitor {
  readonly #config: AppConfig['alerts'];
  readonly #status: StatusSource;
  readonly #history: PoolHistorySource;
  readonly #ledger: AlertLedger;
  readonly #reporter: () => boolean;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #webhookTimeoutMs: number;
  readonly #unknownQueueWarned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<FiredAlert[]> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(options: AlertMonitorOptions) {
    this.#config = options.config;
    this.#status = options.status;
    this.#history = options.history;
    this.#ledger = options.ledger ?? new LocalAlertLedger();
    this.#reporter = options.reporter ?? (() => true);
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
    this.#webhookTimeoutMs = options.webhookTimeoutMs ?? 5000;
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
    if (rules.length === 0 || !this.#reporter()) return [];
    const inputs = await this.#readInputs(rules);
    const now = this.#clock();
    const measured: { rule: AlertRule; m: RuleMeasure }[] = [];
    for (const rule of rules) {
      const spec = RULE_KINDS[rule.kind];
      // Its input could not be read this time: leave its state as it was rather than guess.
      if (!inputOf(inputs, spec.reads)) continue;
      const m = spec.measure(rule, inputs, windowSeconds(rule, this.#config));
      if (m) measured.push({ rule, m });
      else this.#warnUnknownQueue(rule);
    }
    const sustained = measured.filter(({ rule }) => RULE_KINDS[rule.kind].sustained);
    const since = await this.#ledger.breachedSince(
      sustained.map(({ rule, m }) => ({ rule: rule.name, breached: m.above })),
      now,
    );
    const breached: { rule: AlertRule; m: RuleMeasure }[] = [];
    for (const { rule, m } of measured) {
      if (!m.above) continue;
      if (!RULE_KINDS[rule.kind].sustained) {
        breached.push({ rule, m });
        continue;
      }
      const start = since.get(rule.name) ?? now;
      if (now - start < rule.forSeconds * 1000) continue;
      const lasted = rule.forSeconds === 0 && rule.kind === 'deadlineAtRisk';
      breached.push({ rule, m: lasted ? m : { ...m, detail: `${m.detail} há ${Math.floor((now - start) / 1000)}s` } });
    }
    const claimed = await this.#ledger.claim(
      breached.map(({ rule }) => rule.name),
      now,
      this.#config.cooldownSeconds * 1000,
    );
    const fired: FiredAlert[] = breached
      .filter(({ rule }) => claimed.has(rule.name))
      .map(({ rule, m }) => ({
        rule: rule.name,
        kind: rule.kind,
        queue: rule.queue,
        value: m.value,
        threshold: rule.threshold,
        message: `${ruleScope(rule)}: ${m.detail}`,
        at: new Date(now).toISOString(),
      }));
    for (const alert of fired) this.#logger.warn(`[ALERTA] ${alert.rule}: ${alert.message}`, { alert: alert.kind });
    const url = this.#config.webhookUrl;
    if (url && fired.length > 0) {
      await Promise.all(
        fired.map((payload) => postAlert({ url, payload, logger: this.#logger, timeoutMs: this.#webhookTimeoutMs })),
      );
    }
    return fired;
  }

  /** Reads what the rules need, each input once; one that fails is left out (its rules wait). */
  async #readInputs(rules: readonly AlertRule[]): Promise<RuleInputs> {
    const reads = new Set(rules.map((r) => RULE_KINDS[r.kind].reads));
    const windows = [
      ...new Set(
        rules.filter((r) => RULE_KINDS[r.kind].reads === 'outcomes').map((r) => windowSeconds(r, this.#config)),
      ),
    ];
    const soft = <T>(what: string, read: () => Promise<T>): Promise<T | undefined> =>
      read().catch((err: unknown) => {
        this.#logger.warn(`alertas: ${what} indisponível, regras que dependem dele puladas: ${String(err)}`);
        return undefined;
      });
    const [status, outcomes, bridgeStuck] = await Promise.all([
      reads.has('status') ? soft('status', () => this.#status.status()) : undefined,
      reads.has('outcomes')
        ? soft('histórico do pool', async () => {
            const byWindow = await Promise.all(windows.map((w) => this.#history.outcomes(w * 1000)));
            return new Map(windows.map((w, i) => [w, byWindow[i] ?? {}] as const));
          })
        : undefined,
      reads.has('bridgeStuck') ? soft('estado das pontes', () => this.#history.bridgeStuckSeconds()) : undefined,
    ]);
    return {
      ...(status ? { status } : {}),
      ...(outcomes ? { outcomes } : {}),
      ...(bridgeStuck ? { bridgeStuck } : {}),
    };
  }

  #warnUnknownQueue(rule: AlertRule): void {
    if (this.#unknownQueueWarned.has(rule.name)) return;
    this.#unknownQueueWarned.add(rule.name);
    this.#logger.warn(`alerta '${rule.name}': fila '${rule.queue}' não existe; a regra nunca dispara`);
  }
}

function inputOf(inputs: RuleInputs, reads: 'status' | 'outcomes' | 'bridgeStuck'): unknown {
  return inputs[reads];
}

/** The counting window of outcome rules: forSeconds, or one evaluation interval when it is 0. */
function windowSeconds(rule: AlertRule, config: AppConfig['alerts']): number {
  return rule.forSeconds > 0 ? rule.forSeconds : config.evaluateSeconds;
}
