/**
 * Where the alerts' time-based state lives: since when each sustained rule is breached, and when
 * each rule was last reported. The pool keeps it in Redis ({@link RedisAlertLedger}), so a breach
 * is reported once per pool and its cooldown holds when another instance takes over the
 * reporting; {@link LocalAlertLedger} keeps it in this process (one instance, no Redis).
 *
 * Both keep the same rules for a clock that jumps backwards: a start or a last report "in the
 * future" restarts at now (at most one cooldown of silence, never the size of the jump).
 */
import type { Redis } from 'ioredis';

/** One sustained rule's state this evaluation. */
export interface BreachState {
  readonly rule: string;
  readonly breached: boolean;
}

export interface AlertLedger {
  /**
   * Records which sustained rules are breached now: for each breached one, since when (its first
   * breached evaluation without a break, whoever made it); the others' starts are cleared.
   */
  breachedSince(states: readonly BreachState[], now: number): Promise<ReadonlyMap<string, number>>;
  /**
   * Claims the report of each rule: the ones not reported within `cooldownMs` before `now` are
   * recorded as reported now and returned; only one caller gets a given rule.
   */
  claim(rules: readonly string[], now: number, cooldownMs: number): Promise<ReadonlySet<string>>;
}

/** The state in this process. */
export class LocalAlertLedger implements AlertLedger {
  readonly #since = new Map<string, number>();
  readonly #reported = new Map<string, number>();

  breachedSince(states: readonly BreachState[], now: number): Promise<ReadonlyMap<string, number>> {
    const out = new Map<string, number>();
    for (const { rule, breached } of states) {
      if (!breached) {
        this.#since.delete(rule);
        continue;
      }
      let since = this.#since.get(rule);
      if (since === undefined || since > now) this.#since.set(rule, (since = now));
      out.set(rule, since);
    }
    return Promise.resolve(out);
  }

  claim(rules: readonly string[], now: number, cooldownMs: number): Promise<ReadonlySet<string>> {
    const out = new Set<string>();
    for (const rule of rules) {
      const last = this.#reported.get(rule);
      if (last !== undefined && last > now) this.#reported.set(rule, now);
      else if (last === undefined || now - last >= cooldownMs) {
        this.#reported.set(rule, now);
        out.add(rule);
      }
    }
    return Promise.resolve(out);
  }
}

// KEYS[1] the ledger hash; ARGV[1] now, ARGV[2] ttl ms, then rule, breached (0/1) pairs.
// Returns the breached rules and their starts, flat.
const SINCE_SCRIPT = `
local now = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV, 2 do
  local field = 'since:' .. ARGV[i]
  if ARGV[i + 1] == '1' then
    local since = tonumber(redis.call('HGET', KEYS[1], field))
    if not since or since > now then
      since = now
      redis.call('HSET', KEYS[1], field, since)
    end
    out[#out + 1] = ARGV[i]
    out[#out + 1] = tostring(since)
  else
    redis.call('HDEL', KEYS[1], field)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return out
`;

// KEYS[1] the ledger hash; ARGV[1] now, ARGV[2] cooldown ms, ARGV[3] ttl ms, then rules.
// Returns the rules claimed.
const CLAIM_SCRIPT = `
local now = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
local out = {}
for i = 4, #ARGV do
  local field = 'reported:' .. ARGV[i]
  local last = tonumber(redis.call('HGET', KEYS[1], field))
  if last and last > now then
    redis.call('HSET', KEYS[1], field, now)
  elseif not last or now - last >= cooldown then
    redis.call('HSET', KEYS[1], field, now)
    out[#out + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return out
`;

/** Options for {@link RedisAlertLedger}. */
export interface RedisAlertLedgerOptions {
  readonly redis: Redis;
  /** The pool's ledger hash, `<prefix>:rpa:alerts:<pool>` (README "Redis keys"). */
  readonly key: string;
  /** The hash goes away this long after its last write (a pool that is gone leaves nothing). */
  readonly ttlMs: number;
}

/** The pool's state, one hash in Redis changed by one script per step (atomic across instances). */
export class RedisAlertLedger implements AlertLedger {
  readonly #o: RedisAlertLedgerOptions;

  constructor(options: RedisAlertLedgerOptions) {
    this.#o = options;
  }

  async breachedSince(states: readonly BreachState[], now: number): Promise<ReadonlyMap<string, number>> {
    if (states.length === 0) return new Map();
    const args = states.flatMap((s) => [s.rule, s.breached ? '1' : '0']);
    const flat = (await this.#o.redis.eval(
      SINCE_SCRIPT,
      1,
      this.#o.key,
      String(Math.round(now)),
      String(this.#o.ttlMs),
      ...args,
    )) as string[];
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] ?? '', Number(flat[i + 1]));
    return out;
  }

  async claim(rules: readonly string[], now: number, cooldownMs: number): Promise<ReadonlySet<string>> {
    if (rules.length === 0) return new Set();
    const claimed = (await this.#o.redis.eval(
      CLAIM_SCRIPT,
      1,
      this.#o.key,
      String(Math.round(now)),
      String(cooldownMs),
      String(this.#o.ttlMs),
      ...rules,
    )) as string[];
    return new Set(claimed);
  }
}
