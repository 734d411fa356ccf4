import { performance } from 'node:perf_hooks';
import { ConfigError, coerceError } from '../lib/errors.js';
import { sleep, systemClock, type Clock } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { PoolCaps } from './pool-caps.js';
import type {
  HeldSlots,
  InstanceOwner,
  InstanceRecord,
  PoolMembership,
  PoolSnapshot,
  Refusal,
  Renewal,
  SlotRef,
} from './pool-membership.js';

/** Longest wait for the last beat and the leave at shutdown. */
const CLOSE_TIMEOUT_MS = 1000;

export interface InstanceHeartbeatOptions {
  readonly membership: PoolMembership;
  /** This instance's id and the process holding it (host, pid, start time). */
  readonly owner: InstanceOwner;
  /** Its bridge's id, so that a live instance takes over its processing lists when it dies. */
  readonly bridgeId?: string;
  readonly version: string;
  /** Most units this instance may run, read at every beat (it may change at run time). */
  readonly capacity: () => number;
  /** Live units per queue now. */
  readonly units: () => Record<string, number>;
  /**
   * The slots this instance holds now, read at every beat: Redis renews those and releases any
   * other slot recorded for this instance. @defaultValue none held
   */
  readonly slots?: () => HeldSlots;
  /** The caps this instance offers: stored by the first to join (and again if Redis lost them). */
  readonly caps: () => PoolCaps;
  /** Time between beats; silent for 3 = dead. @defaultValue 2000 */
  readonly intervalMs: number;
  readonly logger: Logger;
  /**
   * After every beat: the pool as Redis sees it, the slots this instance still holds and when the
   * beat was sent (units claimed after that are not in `held` yet).
   */
  readonly onBeat?: (snapshot: PoolSnapshot, held: readonly SlotRef[], sentAt: number) => void;
  /**
   * As soon as Redis has renewed this instance and reconciled its slots (the join included, before
   * the snapshot is read): what Redis answered and when, on `monotonic`, it was sent (self-fencing).
   */
  readonly onRenewed?: (renewal: Renewal, sentAtMonotonic: number) => void;
  /**
   * A beat Redis refused: another process holds this instance id now, or another pool took the
   * prefix while this one had lapsed. Nothing was renewed or released; called at every such beat.
   */
  readonly onRefused?: (refusal: Refusal) => void;
  /** @defaultValue Date.now */
  readonly clock?: Clock;
  /** Beats are sent at a fixed rate on it; `onRenewed` gets its times. @defaultValue performance.now */
  readonly monotonic?: Clock;
}

/**
 * Publishes this instance into the pool every `intervalMs` and keeps the last view of the pool.
 * Joining is refused (a {@link ConfigError}) when another process holds the instance id or another
 * pool is live on the prefix. A failed beat is logged once until one succeeds again; the loop
 * never throws.
 */
export class InstanceHeartbeat {
  readonly #options: InstanceHeartbeatOptions;
  readonly #clock: Clock;
  readonly #monotonic: Clock;
  readonly #stop = new AbortController();
  #last: PoolSnapshot | undefined;
  #failing = false;
  #joined = false;
  #starting: Promise<Renewal> | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: InstanceHeartbeatOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  /** The pool at the last successful beat; undefined before the first. */
  get last(): PoolSnapshot | undefined {
    return this.#last;
  }

  /**
   * Joins the pool (so it knows this instance before it decides), then beats every interval.
   * Resolves with what the join renewed (the pool's stored caps among it). A record with this id
   * left by a dead predecessor (same id, another process) is waited out, up to its lease and a
   * beat; one that keeps beating is another live process: refused. Rejects when `signal` aborts.
   * Idempotent.
   */
  start(signal?: AbortSignal): Promise<Renewal> {
    this.#starting ??= this.#doStart(signal);
    return this.#starting;
  }

  async #doStart(signal: AbortSignal | undefined): Promise<Renewal> {
    const renewal = await this.#join(signal);
    this.#joined = true;
    await this.#observe(this.#clock(), renewal.held).catch((err: unknown) => this.#failed(err));
    this.#loop = this.#run();
    return renewal;
  }

  async #join(signal: AbortSignal | undefined): Promise<Renewal> {
    const { membership, owner, logger, intervalMs } = this.#options;
    const stop = signal ? AbortSignal.any([signal, this.#stop.signal]) : this.#stop.signal;
    let first: { holder: InstanceRecord; until: number } | undefined;
    for (;;) {
      if (stop.aborted) throw new Error('parada pedida antes de entrar no pool');
      const sentAtMonotonic = this.#monotonic();
      try {
        const answer = await membership.join(this.#record(this.#clock()), this.#options.caps());
        this.#recovered();
        if (answer.kind === 'renewed') {
          this.#options.onRenewed?.(answer, sentAtMonotonic);
          return answer;
        }
        if (answer.kind === 'other-pool')
          throw new ConfigError(otherPoolLine(answer.pool, membership.pool, membership.ttlMs), 'queues');
        const { holder } = answer;
        // A dead predecessor's record stays as it was until it lapses; a live process renews it.
        if (first && (holder.beatAt !== first.holder.beatAt || this.#monotonic() > first.until))
          throw new ConfigError(duplicateLine(owner.id, holder), 'instance.id');
        if (!first) {
          first = { holder, until: this.#monotonic() + membership.ttlMs + intervalMs };
          logger.warn(
            `instância ${owner.id}: o Redis ainda tem um registro deste id de outro processo (${describeHolder(holder)}); ` +
              `aguardando que expire (até ${Math.round((membership.ttlMs + intervalMs) / 1000)} s)`,
          );
        }
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        this.#failed(err);
      }
      await sleep(intervalMs, stop);
    }
  }

  /** At a fixed rate (a slow answer does not push the next beat back: renewals stay regular). */
  async #run(): Promise<void> {
    let sentAt = this.#monotonic();
    while (!this.#stop.signal.aborted) {
      await sleep(Math.max(0, this.#options.intervalMs - (this.#monotonic() - sentAt)), this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      sentAt = this.#monotonic();
      await this.beat();
    }
  }

  /** One beat; errors are logged, never thrown. Undefined when it failed or was refused. */
  async beat(): Promise<PoolSnapshot | undefined> {
    const { membership } = this.#options;
    const sentAt = this.#clock();
    const sentAtMonotonic = this.#monotonic();
    try {
      const answer = await membership.beat(
        this.#record(sentAt),
        this.#options.slots?.() ?? { held: [], claiming: [] },
        this.#options.caps(),
      );
      this.#recovered();
      if (answer.kind !== 'renewed') {
        this.#options.onRefused?.(answer);
        return undefined;
      }
      this.#options.onRenewed?.(answer, sentAtMonotonic);
      return await this.#observe(sentAt, answer.held);
    } catch (err) {
      this.#failed(err);
      return undefined;
    }
  }

  async #observe(sentAt: number, held: readonly SlotRef[]): Promise<PoolSnapshot> {
    const snapshot = await this.#options.membership.snapshot();
    this.#last = snapshot;
    this.#options.onBeat?.(snapshot, held, sentAt);
    return snapshot;
  }

  #record(beatAt: number): InstanceRecord {
    return {
      ...this.#options.owner,
      ...(this.#options.bridgeId ? { bridgeId: this.#options.bridgeId } : {}),
      version: this.#options.version,
      capacity: this.#options.capacity(),
      units: this.#options.units(),
      beatAt,
    };
  }

  #recovered(): void {
    if (this.#failing) this.#options.logger.info(`heartbeat da instância ${this.#options.owner.id} restabelecido`);
    this.#failing = false;
  }

  #failed(err: unknown): void {
    if (!this.#failing) {
      this.#options.logger.warn(`heartbeat da instância ${this.#options.owner.id} falhou: ${coerceError(err).message}`);
    }
    this.#failing = true;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      if (!this.#joined) return;
      // A beat or the leave may wait on an unreachable Redis: the expiry removes this instance then.
      await withTimeout(
        (async () => {
          await this.#loop;
          await this.#options.membership.leave(this.#options.owner);
        })(),
        CLOSE_TIMEOUT_MS,
        'leaving the pool',
      ).catch(() => undefined);
    })();
    return this.#closing;
  }
}

/** `host maq-b, pid 4121, iniciado em 2026-05-01T10:00:00.000Z` */
export function describeHolder(holder: InstanceRecord): string {
  const started = Number.isFinite(holder.startedAt) ? new Date(holder.startedAt).toISOString() : '?';
  return `host ${holder.host}, pid ${holder.pid}, iniciado em ${started}`;
}

function duplicateLine(id: string, holder: InstanceRecord): string {
  return (
    `INSTANCE_ID '${id}' já está em uso por outro processo vivo neste pool (${describeHolder(holder)}): ` +
    'dê a cada instância um INSTANCE_ID próprio (o padrão, host-pid, já é único)'
  );
}

function otherPoolLine(other: string, ours: string, ttlMs: number): string {
  const list = (pool: string): string => pool.split('+').join(', ');
  return (
    `outro pool está ativo neste Redis (mesmo banco e redis.prefix) com as filas [${list(other)}]; ` +
    `esta instância serve [${list(ours)}]. Um banco e prefixo servem um só conjunto de filas: ` +
    'dê a todas as instâncias as mesmas filas (para mudá-las, pare todas as do outro pool: ' +
    `o conjunto vale até a última sair ou passar ${Math.round(ttlMs / 1000)} s sem heartbeat), ` +
    'ou use outro redis.prefix ou redis.db'
  );
}
