import type { Redis } from 'ioredis';

/** What Redis and this Node process spent per job: the "where is the time" of a throughput figure. */
export interface CostPerJob {
  /** Commands Redis executed, those run inside Lua scripts included. */
  readonly redisCommands: number;
  /** EVALSHA / EVAL calls (BullMQ's Lua scripts). */
  readonly scriptCalls: number;
  /** Redis CPU (user + sys) per job, ms. */
  readonly redisCpuMs: number;
  /** This Node process's CPU per job, ms. */
  readonly nodeCpuMs: number;
}

/** Starts counting (CONFIG RESETSTAT + CPU snapshots); `stop(jobs)` returns the cost per job. */
export async function startCostMeter(redis: Redis): Promise<{ stop(jobs: number): Promise<CostPerJob> }> {
  await redis.config('RESETSTAT');
  const redisCpu0 = await redisCpuSeconds(redis);
  const node0 = process.cpuUsage();
  return {
    async stop(jobs) {
      const node = process.cpuUsage(node0);
      const redisCpu = (await redisCpuSeconds(redis)) - redisCpu0;
      const stats = await redis.info('commandstats');
      let commands = 0;
      let scripts = 0;
      for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = match[1] ?? '';
        const calls = Number(match[2]);
        if (name.startsWith('config') || name === 'info') continue;
        commands += calls;
        if (name === 'evalsha' || name === 'eval') scripts += calls;
      }
      return {
        redisCommands: commands / jobs,
        scriptCalls: scripts / jobs,
        redisCpuMs: (redisCpu * 1000) / jobs,
        nodeCpuMs: (node.user + node.system) / 1000 / jobs,
      };
    },
  };
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
  return user + sys;
}
