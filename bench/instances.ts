/**
 * Several instances, one pool: the seed's scenario (322 conferencia + 3 emissao, echo with a
 * sleep) through 1 and 3 `node dist/main.js` on the bench's private Redis. Makespan, burst → all
 * units started (7 + 1 slots held), cap violations sampled every 50 ms (units per queue > 10, in
 * all > 20, BullMQ active per queue > 10: must be 0). Then the takeover: 3 instances, long jobs,
 * SIGKILL the one with the most units, time until the pool holds them again without it. Then the
 * Redis commands per second the coordination adds, with 3 and 10 simulated instances (heartbeat
 * objects beating into Redis, each reading the pool once per beat plus once a second as the
 * scaler would), idle Redis otherwise.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { InstanceHeartbeat } from '../src/cluster/instance-heartbeat.js';
import { PoolMembership } from '../src/cluster/pool-membership.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { pushItems, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';

const QUEUES = ['conferencia', 'emissao'];
const CONFERENCIA = 322;
const EMISSAO = 3;
/** ceil(322/50) + ceil(3/50). */
const UNITS = 8;

interface Pool {
  readonly procs: ServiceProcess[];
  readonly membership: PoolMembership;
  readonly queues: Queue[];
  close(signal?: NodeJS.Signals): Promise<void>;
}

async function startPool(ctx: BenchContext, n: number): Promise<Pool> {
  const file = path.join(ctx.tmpDir, `instances-${n}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      http: { enabled: false },
      log: { file: '', level: 'warn' },
      queues: { conferencia: { flow: 'echo' }, emissao: { flow: 'echo' } },
      scaler: { stabilizationSeconds: 2, stalledIntervalMs: 2000 },
      jobs: { lockSeconds: 5 },
      capacity: { enabled: false },
    }),
  );
  const procs = Array.from(
    { length: n },
    (_, i) =>
      new ServiceProcess({
        NODE_ENV: 'development',
        CONFIG_FILE: file,
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(ctx.redisPort),
        INSTANCE_ID: `maq-${String.fromCharCode(97 + i)}`,
        BRIDGE_ID: `bench-${i}`,
        LOG_LEVEL: 'info',
      }),
  );
  await Promise.all(procs.map((p) => p.waitForLine(/serviço pronto/, 90_000)));
  const membership = new PoolMembership({ redis: ctx.redis, prefix: 'bull', queues: QUEUES, ttlMs: 6000 });
  const queues = QUEUES.map((q) => new Queue(q, { connection: ctx.redis, skipVersionCheck: true }));
  return {
    procs,
    membership,
    queues,
    async close(signal = 'SIGTERM') {
      await Promise.all(procs.map((p) => p.stop(signal)));
      await Promise.all(queues.map((q) => q.close()));
      await ctx.flush();
    },
  };
}

function slotsOf(snapshot: Awaited<ReturnType<PoolMembership['snapshot']>>): { perQueue: number[]; total: number } {
  const perQueue = QUEUES.map((q) => snapshot.instances.reduce((s, i) => s + (i.slots[q] ?? 0), 0));
  return { perQueue, total: perQueue.reduce((a, b) => a + b, 0) };
}

/** Samples the caps every 50 ms until stopped; returns the violations seen. */
function sampleCaps(pool: Pool): { stop(): Promise<number> } {
  let running = true;
  let violations = 0;
  const loop = (async () => {
    while (running) {
      const { perQueue, total } = slotsOf(await pool.membership.snapshot());
      const active = await Promise.all(pool.queues.map((q) => q.getActiveCount()));
      violations += perQueue.filter((n) => n > 10).length + (total > 20 ? 1 : 0) + active.filter((n) => n > 10).length;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return violations;
    },
  };
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function pushScenario(ctx: BenchContext, sleepMs: number): Promise<void> {
  const job = (prefix: string) => (_: unknown, i: number) => JSON.stringify({ id: `${prefix}-${i}`, sleepMs });
  await pushItems(ctx.redis, 'fila:conferencia', Array.from({ length: CONFERENCIA }, job('c')));
  await pushItems(ctx.redis, 'fila:emissao', Array.from({ length: EMISSAO }, job('e')));
}

async function scenarioRun(
  ctx: BenchContext,
  n: number,
  sleepMs: number,
): Promise<{ makespanS: number; unitsS: number; violations: number }> {
  const pool = await startPool(ctx, n);
  try {
    const sampler = sampleCaps(pool);
    const pushedAt = performance.now();
    await pushScenario(ctx, sleepMs);
    const unitsAt = await until(
      async () => (slotsOf(await pool.membership.snapshot()).total >= UNITS ? performance.now() : undefined),
      60_000,
      `${UNITS} units`,
    );
    const doneAt = await until(
      async () => ((await ctx.redis.llen('fila:resultado')) >= CONFERENCIA + EMISSAO ? performance.now() : undefined),
      300_000,
      'every result',
    );
    const violations = await sampler.stop();
    return { makespanS: (doneAt - pushedAt) / 1000, unitsS: (unitsAt - pushedAt) / 1000, violations };
  } finally {
    await pool.close();
  }
}

async function takeoverRun(ctx: BenchContext): Promise<{ takeoverS: number; violations: number }> {
  const pool = await startPool(ctx, 3);
  try {
    const sampler = sampleCaps(pool);
    await pushScenario(ctx, 3000);
    const snap = await until(
      async () => {
        const s = await pool.membership.snapshot();
        return slotsOf(s).total >= UNITS ? s : undefined;
      },
      60_000,
      `${UNITS} units`,
    );
    const held = (i: (typeof snap.instances)[number]) => Object.values(i.slots).reduce((a, b) => a + b, 0);
    const victim = [...snap.instances].sort((a, b) => held(b) - held(a))[0];
    const index = snap.instances.findIndex((i) => i.id === victim?.id);
    const killedAt = performance.now();
    await pool.procs[index]?.stop('SIGKILL');
    const backAt = await until(
      async () => {
        const s = await pool.membership.snapshot();
        const gone = !s.instances.some((i) => i.id === victim?.id);
        return gone && slotsOf(s).total >= UNITS ? performance.now() : undefined;
      },
      60_000,
      'the dead instance’s units on the others',
    );
    return { takeoverS: (backAt - killedAt) / 1000, violations: await sampler.stop() };
  } finally {
    await pool.close('SIGKILL');
  }
}

async function commandsPerSecond(ctx: BenchContext, n: number, seconds: number): Promise<number> {
  const processed = async (): Promise<number> =>
    Number(/total_commands_processed:(\d+)/.exec(await ctx.redis.info('stats'))?.[1] ?? 0);
  const membership = new PoolMembership({ redis: ctx.redis, prefix: 'bull', queues: QUEUES, ttlMs: 6000 });
  const silent = { warn: () => undefined, info: () => undefined } as unknown as ConstructorParameters<
    typeof InstanceHeartbeat
  >[0]['logger'];
  const beats = Array.from(
    { length: n },
    (_, i) =>
      new InstanceHeartbeat({
        membership,
        owner: { id: `sim-${i}`, host: 'bench', pid: process.pid, startedAt: Date.now() },
        version: 'bench',
        capacity: () => 5,
        units: () => ({ conferencia: 2, emissao: 0 }),
        caps: () => ({ maxTotalWorkers: 20, maxWorkers: { conferencia: 20, emissao: 10 } }),
        intervalMs: 2000,
        logger: silent,
      }),
  );
  await Promise.all(beats.map((b) => b.start()));
  // The scaler's read of the pool: once a second per instance while items arrive (the worst case).
  const scalerTimer = setInterval(() => {
    for (let i = 0; i < n; i++) void membership.snapshot().catch(() => undefined);
  }, 1000);
  // Each bridge asks for each list's lease every heartbeat (the holder renews it as often).
  const leaseTimer = setInterval(() => {
    for (let i = 0; i < n; i++)
      for (const q of QUEUES) void membership.holdListLease(`fila:${q}`, `sim-${i}`, 10_000).catch(() => undefined);
  }, 2000);
  const before = await processed();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await processed();
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(scalerTimer);
  clearInterval(leaseTimer);
  await Promise.all(beats.map((b) => b.close()));
  await ctx.flush();
  // Our INFO calls count too: two in the window.
  return (after - before - 2) / elapsed;
}

export async function instancesBench(ctx: BenchContext): Promise<Figure[]> {
  progress('instances: building dist/ (the instances run node dist/main.js)');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const sleepMs = Number(process.env.BENCH_INSTANCES_SLEEP_MS ?? (ctx.quick ? 50 : 100));
  await ctx.flush();
  const runs = new Map<number, { makespanS: number; unitsS: number; violations: number }[]>([
    [1, []],
    [3, []],
  ]);
  const takeovers: { takeoverS: number; violations: number }[] = [];
  for (let run = 1; run <= ctx.runs; run++) {
    for (const n of [1, 3]) {
      progress(`instances: run ${run}/${ctx.runs}, ${n} instance(s), seed scenario (sleepMs ${sleepMs})`);
      runs.get(n)?.push(await scenarioRun(ctx, n, sleepMs));
    }
    progress(`instances: run ${run}/${ctx.runs}, takeover after SIGKILL (3 instances, sleepMs 3000)`);
    takeovers.push(await takeoverRun(ctx));
  }
  const window = ctx.quick ? 4 : 10;
  const cmds: Record<number, number[]> = { 0: [], 3: [], 10: [] };
  for (const n of [0, 3, 10]) {
    progress(`instances: Redis commands/s with ${n} simulated instance(s), ${window} s`);
    cmds[n]?.push(await commandsPerSecond(ctx, n, window));
  }
  const inputs: FigureInput[] = [];
  for (const n of [1, 3]) {
    const r = runs.get(n) ?? [];
    const cs = `${n} instance(s)`;
    const base = n === 1 ? {} : { baseline: '1 instance(s)' };
    inputs.push({
      case: cs,
      metric: 'makespan',
      unit: 's',
      values: r.map((x) => x.makespanS),
      ...base,
      note: `${CONFERENCIA}+${EMISSAO} echo jobs, sleepMs ${sleepMs}; the same caps for the whole pool (7 + 1 units), so 3 instances should not be faster`,
    });
    inputs.push({
      case: cs,
      metric: 'burst → all 8 units started',
      unit: 's',
      values: r.map((x) => x.unitsS),
      ...base,
    });
    inputs.push({ case: cs, metric: 'cap violations', unit: 'n', values: r.map((x) => x.violations) });
  }
  inputs.push({
    case: '3 instances, SIGKILL one',
    metric: 'takeover (kill → its units running elsewhere)',
    unit: 's',
    values: takeovers.map((t) => t.takeoverS),
    note: 'heartbeat every 2 s, dead after 3 missed (6 s); the bound is 15 s',
  });
  inputs.push({
    case: '3 instances, SIGKILL one',
    metric: 'cap violations',
    unit: 'n',
    values: takeovers.map((t) => t.violations),
  });
  const idle = cmds[0]?.[0] ?? 0;
  for (const n of [3, 10]) {
    inputs.push({
      case: `${n} simulated instances`,
      metric: 'Redis commands/s added by coordination',
      unit: '/s',
      values: (cmds[n] ?? []).map((v) => Math.max(0, v - idle)),
      note: 'Lua-internal commands included (INFO total_commands_processed); beat + pool read + one lease request per queue every 2 s, plus one pool read per second per instance',
    });
  }
  return figuresOf('instances', inputs);
}
