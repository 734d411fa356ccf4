import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { WorkerPool, type PoolUnit } from '../../../src/pool/worker-pool.js';
import type { UnitState } from '../../../src/workers/unit-state.js';
import { memoryLogger } from '../../helpers/memory-logger.js';

const logger = winston.createLogger({ silent: true });

/** A unit whose start and job are finished by the test, to see the pool mid-transition. */
class FakeUnit extends EventEmitter<{ state: [to: UnitState, from: UnitState] }> implements PoolUnit {
  state: UnitState = 'starting';
  forced = false;
  #started!: () => void;
  #jobDone: (() => void) | undefined;
  #closed: Promise<void> | undefined;
  constructor(readonly name: string) {
    super();
  }
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.#started = () => {
        if (this.state === 'starting') this.set('ready');
        resolve();
      };
    });
  }
  finishStart(): void {
    this.#started();
  }
  takeJob(): void {
    this.set('busy');
  }
  finishJob(): void {
    if (this.#jobDone) this.#jobDone();
    else if (this.state === 'busy') this.set('ready');
  }
  retire(): Promise<void> {
    this.#closed ??= (async () => {
      const wasBusy = this.state === 'busy';
      this.set('draining');
      if (wasBusy) await new Promise<void>((resolve) => (this.#jobDone = resolve));
      this.set('closed');
    })();
    return this.#closed;
  }
  forceClose(): Promise<void> {
    this.forced = true;
    const closing = this.retire();
    this.#jobDone?.(); // the aborted job ends at once
    return closing;
  }
  private set(state: UnitState): void {
    const from = this.state;
    this.state = state;
    this.emit('state', state, from);
  }
}

function makePool(maxByQueue: Record<string, number>, maxTotal: number) {
  const units: FakeUnit[] = [];
  const pool = new WorkerPool({
    maxWorkersByQueue: maxByQueue,
    maxTotalWorkers: maxTotal,
    logger,
    createUnit: (queue, index) => {
      const unit = new FakeUnit(`Worker-${queue}-${index}`);
      units.push(unit);
      return unit;
    },
  });
  let peak = 0;
  const peaks: Record<string, number> = {};
  pool.on('unit-state', () => {
    peak = Math.max(peak, pool.totalCounted());
    for (const q of pool.queues()) peaks[q] = Math.max(peaks[q] ?? 0, pool.counts(q).counted);
  });
  return { pool, units, peak: () => peak, peaks };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('WorkerPool', () => {
  it('starts units named Worker-<queue>-<n> up to the target', async () => {
    const { pool, units } = makePool({ conferencia: 10, emissao: 10 }, 20);
    pool.setTarget('conferencia', 7);
    pool.setTarget('emissao', 1);
    expect(units.map((u) => u.name)).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7].map((n) => `Worker-conferencia-${n}`),
      'Worker-emissao-1',
    ]);
    units.forEach((u) => u.finishStart());
    await flush();
    expect(pool.counts('conferencia')).toMatchObject({ live: 7, ready: 7 });
  });

  it('counts live units per queue (starting, ready, busy; not draining) in one place: liveByQueue', async () => {
    const { pool, units } = makePool({ conferencia: 10, emissao: 10 }, 20);
    expect(pool.liveByQueue()).toEqual({ conferencia: 0, emissao: 0 });
    pool.setTarget('conferencia', 3);
    pool.setTarget('emissao', 1);
    expect(pool.liveByQueue()).toEqual({ conferencia: 3, emissao: 1 }); // starting units count
    units.forEach((u) => u.finishStart());
    await flush();
    units[0]?.takeJob();
    pool.setTarget('conferencia', 0);
    await flush();
    // The busy unit drains its job: open, holding its slot, but no longer live.
    expect(units[0]?.state).toBe('draining');
    expect(pool.liveByQueue()).toEqual({ conferencia: 0, emissao: 1 });
    expect(pool.counts('conferencia')).toMatchObject({ live: 0, draining: 1, counted: 1 });
    units[0]?.finishJob();
    await flush();
  });

  it('retires idle units before busy ones and never interrupts a job', async () => {
    const { pool, units } = makePool({ q: 10 }, 20);
    pool.setTarget('q', 3);
    units.forEach((u) => u.finishStart());
    await flush();
    units[0]?.takeJob();
    pool.setTarget('q', 1);
    await flush();
    expect(units[0]?.state).toBe('busy');
    expect(units.filter((u) => u.state === 'closed')).toHaveLength(2);
    pool.setTarget('q', 0);
    await flush();
    expect(units[0]?.state).toBe('draining'); // finishing its job
    units[0]?.finishJob();
    await flush();
    expect(units[0]?.state).toBe('closed');
    expect(pool.counts('q').counted).toBe(0);
  });

  it('counts draining units against the caps and fills the room when they close', async () => {
    const { pool, units, peak, peaks } = makePool({ a: 5, b: 5 }, 6);
    pool.setTarget('a', 5);
    units.forEach((u) => u.finishStart());
    await flush();
    units.forEach((u) => u.takeJob());
    pool.setTarget('a', 1); // 4 busy units drain
    pool.setTarget('b', 5); // only 1 slot left under the total of 6 while they drain
    expect(pool.counts('b').counted).toBe(1);
    for (const u of units.filter((x) => x.state === 'draining')) {
      u.finishJob();
      await flush();
    }
    expect(pool.counts('b').counted).toBe(5);
    expect(peak()).toBeLessThanOrEqual(6);
    expect(peaks.a).toBeLessThanOrEqual(5);
    expect(peaks.b).toBeLessThanOrEqual(5);
  });

  it('retries a unit that failed to start after a pause, not in a tight loop', async () => {
    let attempts = 0;
    const pool = new WorkerPool({
      maxWorkersByQueue: { q: 2 },
      maxTotalWorkers: 2,
      logger,
      startRetryMs: 50,
      createUnit: (queue, index) => {
        attempts++;
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        unit.start = () => Promise.reject(new Error('no browser'));
        return unit;
      },
    });
    pool.setTarget('q', 1);
    await flush();
    await flush();
    const early = attempts;
    expect(early).toBeLessThanOrEqual(2);
    const deadline = Date.now() + 5000;
    while (attempts <= early && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(attempts).toBeGreaterThan(early);
    await pool.close({ graceMs: 0 });
  });

  it('reads the start back-off from its clock: a clock moved back keeps starts blocked', async () => {
    let now = 1_000_000;
    let attempts = 0;
    const pool = new WorkerPool({
      maxWorkersByQueue: { q: 1 },
      maxTotalWorkers: 1,
      logger,
      startRetryMs: 60_000,
      clock: () => now,
      createUnit: (queue, index) => {
        attempts++;
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        unit.start = () => Promise.reject(new Error('no browser'));
        return unit;
      },
    });
    pool.setTarget('q', 1);
    await flush();
    await flush();
    expect(attempts).toBe(1);
    now -= 30_000; // the wall clock jumps back
    pool.setTarget('q', 1);
    await flush();
    expect(attempts).toBe(1);
    now += 30_000 + 60_000; // past the back-off
    pool.setTarget('q', 1);
    await flush();
    expect(attempts).toBe(2);
    await pool.close({ graceMs: 0 });
  });

  it('closes gracefully, then forces the units still busy after graceMs', async () => {
    const { pool, units } = makePool({ q: 3 }, 3);
    pool.setTarget('q', 2);
    units.forEach((u) => u.finishStart());
    await flush();
    units[0]?.takeJob(); // never finishes on its own
    const started = Date.now();
    await pool.close({ graceMs: 100 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(units.map((u) => u.state)).toEqual(['closed', 'closed']);
    expect(units.map((u) => u.forced)).toEqual([true, false]);
    expect(pool.totalCounted()).toBe(0);
  });

  it('does not force units whose jobs end within graceMs', async () => {
    const { pool, units } = makePool({ q: 1 }, 1);
    pool.setTarget('q', 1);
    units.forEach((u) => u.finishStart());
    await flush();
    units[0]?.takeJob();
    const closing = pool.close({ graceMs: 60_000 });
    await flush();
    units[0]?.finishJob();
    await closing;
    expect(units[0]?.forced).toBe(false);
    expect(units[0]?.state).toBe('closed');
  });
});

describe('WorkerPool with global slots (several instances)', () => {
  /** Slots as Redis would grant them: the lowest free number, within a per-queue and a total cap. */
  function slots(perQueue: number, total: number) {
    const held = new Map<string, Set<number>>();
    const count = () => [...held.values()].reduce((s, set) => s + set.size, 0);
    return {
      held,
      taken: (queue: string, n: number) => held.get(queue)?.add(n) ?? held.set(queue, new Set([n])),
      claim: (queue: string): Promise<number | null> => {
        const set = held.get(queue) ?? new Set<number>();
        held.set(queue, set);
        if (count() >= total) return Promise.resolve(null);
        for (let n = 1; n <= perQueue; n++) {
          if (!set.has(n)) {
            set.add(n);
            return Promise.resolve(n);
          }
        }
        return Promise.resolve(null);
      },
      release: (queue: string, n: number): Promise<void> => {
        held.get(queue)?.delete(n);
        return Promise.resolve();
      },
    };
  }

  it('starts a unit only under a slot, named by the slot, and frees the slot when the unit closes', async () => {
    const s = slots(10, 20);
    s.taken('conferencia', 1); // another instance runs Worker-conferencia-1
    const units: FakeUnit[] = [];
    const pool = new WorkerPool({
      maxWorkersByQueue: { conferencia: 10 },
      maxTotalWorkers: 20,
      logger,
      slots: s,
      startRetryMs: 10,
      createUnit: (queue, index) => {
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        units.push(unit);
        return unit;
      },
    });
    pool.setTarget('conferencia', 2);
    await flush();
    expect(units.map((u) => u.name)).toEqual(['Worker-conferencia-2', 'Worker-conferencia-3']);
    for (const u of units) u.finishStart();
    pool.setTarget('conferencia', 1);
    await flush();
    await flush();
    expect([...(s.held.get('conferencia') ?? [])].sort()).toEqual([1, 2]);
    await pool.close();
  });

  it('waits for a slot when the global caps are full, and starts when one frees', async () => {
    const s = slots(10, 2);
    s.taken('emissao', 1);
    s.taken('emissao', 2); // the pool's total cap is held elsewhere
    const units: FakeUnit[] = [];
    const pool = new WorkerPool({
      maxWorkersByQueue: { conferencia: 10 },
      maxTotalWorkers: 20,
      logger,
      slots: s,
      startRetryMs: 10,
      createUnit: (queue, index) => {
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        units.push(unit);
        return unit;
      },
    });
    pool.setTarget('conferencia', 1);
    await flush();
    expect(units).toHaveLength(0);
    expect(pool.counts('conferencia').live).toBe(0);
    await s.release('emissao', 2);
    const deadline = Date.now() + 2000;
    while (units.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(units.map((u) => u.name)).toEqual(['Worker-conferencia-1']);
    units[0]?.finishStart();
    await pool.close();
  });

  it('retires a live unit whose slot lapsed (its heartbeat was late), not one claimed after the beat', async () => {
    const s = slots(10, 20);
    const units: FakeUnit[] = [];
    let now = 1000;
    const pool = new WorkerPool({
      maxWorkersByQueue: { conferencia: 10 },
      maxTotalWorkers: 20,
      logger,
      slots: s,
      clock: () => now,
      createUnit: (queue, index) => {
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        units.push(unit);
        return unit;
      },
    });
    pool.setTarget('conferencia', 2);
    await flush();
    for (const u of units) u.finishStart();
    now = 2000;
    // The beat sent at 1500 saw only slot 2 still held.
    pool.retireLapsed([{ queue: 'conferencia', n: 2 }], 1500);
    await flush();
    expect(units.slice(0, 2).map((u) => u.state)).toEqual(['closed', 'ready']);
    // The target still wants 2: a new unit starts under whatever slot is free now.
    expect(units.slice(2).map((u) => u.state)).toEqual(['starting']);
    units[2]?.finishStart();
    // A beat sent before the units were claimed judges none of them.
    pool.retireLapsed([], 500);
    expect(units[1]?.state).toBe('ready');
    await pool.close();
  });

  it('fenced: forces every unit closed, starts none (not even a claim already granted), starts again once unfenced', async () => {
    const s = slots(10, 20);
    const units: FakeUnit[] = [];
    const claim: { grant?: () => void } = {};
    // The fence's owner is outside the pool (the self-fence): the pool only reads it.
    let fenced = false;
    let claims = 0;
    const pool = new WorkerPool({
      maxWorkersByQueue: { conferencia: 10, emissao: 10 },
      maxTotalWorkers: 20,
      logger,
      fenced: () => fenced,
      slots: {
        // emissao's claim reaches Redis only after the fence (it hung on an unreachable Redis).
        claim: (queue) => {
          claims++;
          return queue === 'emissao'
            ? new Promise((resolve) => (claim.grant = () => resolve(s.claim(queue))))
            : s.claim(queue);
        },
        release: s.release,
      },
      createUnit: (queue, index) => {
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        units.push(unit);
        return unit;
      },
    });
    pool.setTarget('conferencia', 2);
    pool.setTarget('emissao', 1);
    await flush();
    for (const u of units) u.finishStart();
    units[0]?.takeJob();
    fenced = true;
    expect(pool.forceCloseAll()).toBe(2);
    await flush();
    expect(units.map((u) => [u.state, u.forced])).toEqual([
      ['closed', true],
      ['closed', true],
    ]);
    // The claim sent before the fence is granted now: given back, no unit starts under it.
    claim.grant?.();
    await flush();
    await flush();
    expect(units).toHaveLength(2);
    expect(s.held.get('emissao')?.size ?? 0).toBe(0);
    // The scaler may still set targets: nothing starts while fenced, no slot is even claimed.
    const claimsBefore = claims;
    pool.setTarget('conferencia', 3);
    await flush();
    expect(units).toHaveLength(2);
    expect(claims).toBe(claimsBefore);
    // Unfenced: the next target starts units again.
    fenced = false;
    pool.setTarget('conferencia', 3);
    await flush();
    expect(units.slice(2).map((u) => u.name)).toEqual([
      'Worker-conferencia-1',
      'Worker-conferencia-2',
      'Worker-conferencia-3',
    ]);
    for (const u of units.slice(2)) u.finishStart();
    claim.grant?.(); // emissao's new claim
    await pool.close();
  });

  it('reports the slots its open units hold and the queues with a claim under way (for the heartbeat)', async () => {
    const s = slots(10, 20);
    const units: FakeUnit[] = [];
    const claim: { grant?: () => void } = {};
    const pool = new WorkerPool({
      maxWorkersByQueue: { conferencia: 10, emissao: 10 },
      maxTotalWorkers: 20,
      logger,
      slots: {
        claim: (queue) =>
          queue === 'emissao'
            ? new Promise((resolve) => (claim.grant = () => resolve(s.claim(queue))))
            : s.claim(queue),
        release: s.release,
      },
      createUnit: (queue, index) => {
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        units.push(unit);
        return unit;
      },
    });
    pool.setTarget('conferencia', 2);
    pool.setTarget('emissao', 1);
    await flush();
    units[0]?.finishStart();
    units[1]?.finishStart();
    units[0]?.takeJob();
    // A draining unit (retired, its job still running) holds its slot until it closes.
    pool.setTarget('conferencia', 0);
    await flush();
    expect(units.map((u) => u.state)).toEqual(['draining', 'closed']);
    expect(pool.slotsHeld()).toEqual({ held: [{ queue: 'conferencia', n: 1 }], claiming: ['emissao'] });
    claim.grant?.();
    await flush();
    await flush();
    expect(pool.slotsHeld()).toEqual({
      held: [
        { queue: 'conferencia', n: 1 },
        { queue: 'emissao', n: 1 },
      ],
      claiming: [],
    });
    units[2]?.finishStart();
    units[0]?.finishJob();
    await pool.close();
  });

  it('a failed slot release is logged once until a release succeeds; the unit is gone from the held slots', async () => {
    const s = slots(10, 20);
    const units: FakeUnit[] = [];
    const { logger: memory, lines } = memoryLogger('warn');
    let failing = true;
    const pool = new WorkerPool({
      maxWorkersByQueue: { conferencia: 10 },
      maxTotalWorkers: 20,
      logger: memory,
      slots: {
        claim: s.claim,
        release: (queue, n) => (failing ? Promise.reject(new Error('Connection is closed.')) : s.release(queue, n)),
      },
      createUnit: (queue, index) => {
        const unit = new FakeUnit(`Worker-${queue}-${index}`);
        units.push(unit);
        return unit;
      },
    });
    pool.setTarget('conferencia', 3);
    await flush();
    for (const u of units) u.finishStart();
    pool.setTarget('conferencia', 1);
    await flush();
    await flush();
    const failures = () => lines.filter((l) => /não devolvida/.test(l.message));
    expect(failures().map((l) => l.message)).toEqual([
      'vaga conferencia|3 não devolvida (Connection is closed.); o próximo heartbeat a devolve',
    ]);
    // Still counted in the fake Redis (the heartbeat frees it there), no longer held by the pool.
    expect([...(s.held.get('conferencia') ?? [])].sort()).toEqual([1, 2, 3]);
    expect(pool.slotsHeld().held).toEqual([{ queue: 'conferencia', n: 1 }]);
    failing = false;
    pool.setTarget('conferencia', 2);
    await flush();
    units[3]?.finishStart();
    pool.setTarget('conferencia', 1);
    await flush();
    await flush();
    failing = true;
    pool.setTarget('conferencia', 0);
    await flush();
    await flush();
    // A release succeeded in between: the next failure is news again.
    expect(failures()).toHaveLength(2);
    await pool.close();
  });
});
