import { Redis } from 'ioredis';
import { startPortal } from '../src/demo/portal/server.js';
import { BUILTIN_FLOWS } from '../src/flows/registry.js';
import type { Flow } from '../src/flows/flow.js';
import { Service } from '../src/service/service.js';
import { memoryLogger } from '../test/helpers/memory-logger.js';
import { serviceConfig } from '../test/helpers/service-config.js';
import { deleteKeys } from '../test/helpers/redis.js';

const latency = Number(process.env.LAT ?? 200);
const k = Number(process.env.K ?? 3);
const jobs = Number(process.env.JOBS ?? 3000);
const portal = await startPortal({ latencyMs: latency, maxConcurrent: k });
const r = await fetch(`${portal.url}/login`, { method: 'POST', body: new URLSearchParams({ usuario: 'demo', senha: 'demo123', next: '/conferencia' }), redirect: 'manual' });
const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
const flow: Flow = { name: 'consulta', needsBrowser: false, async run(ctx) { const x = await fetch(`${portal.url}/conferencia?documento=${String(ctx.data.documento)}`, { headers: { cookie }, signal: ctx.signal }); await x.text(); return {}; } };
const prefix = 'kneerun';
const redis = new Redis({ port: Number(process.env.REDIS_PORT), db: 15 });
await deleteKeys(redis, 'kneerun*'); await deleteKeys(redis, 'rpa:*');
const config = serviceConfig({ queues: { consulta: { flow: 'consulta', sourceList: `${prefix}:l`, resultList: `${prefix}:r` } }, capacity: { enabled: true }, redis: { prefix } }, { REDIS_DB: '15' });
const s = new Service({ config, logger: memoryLogger('info').logger, flows: new Map([...BUILTIN_FLOWS, ['consulta', flow]]) });
await s.start();
const t0 = Date.now();
let last = '';
s.scaler?.on('evaluated', (ps) => { const p = ps.find((x) => x.queue === 'consulta'); if (!p) return; const key = `${p.current}->${p.target} ${p.bound}`; if (key !== last) { last = key; const rr = p.reason as any; console.log(((Date.now() - t0) / 1000).toFixed(0), p.pending, key, rr.kind === 'knee' ? `below ${rr.below.workers}@${Math.round(rr.below.perMinute)} ${rr.below.jobSeconds.toFixed(2)}s above ${rr.above.workers}@${Math.round(rr.above.perMinute)} ${rr.above.jobSeconds.toFixed(2)}s probing ${rr.probing}` : rr.kind === 'capacity' ? JSON.stringify(rr.limit) : ''); } });
await redis.rpush(`${prefix}:l`, ...Array.from({ length: jobs }, (_, i) => JSON.stringify({ documento: String(10000 + i) })));
for (;;) { await new Promise((z) => setTimeout(z, 1000)); if ((await redis.llen(`${prefix}:r`)) >= jobs) break; }
console.log('done', (Date.now() - t0) / 1000, 's; ideal at K/latency:', jobs / (k * 1000 / latency), 's');
await s.stop(); await portal.close(); await deleteKeys(redis, 'kneerun*'); await deleteKeys(redis, 'rpa:*'); redis.disconnect();
