// How the CPU per busy unit is measured for real conferencia units at fixed N (no capacity bound).
import { Redis } from 'ioredis';
import { startPortal } from '../src/demo/portal/server.js';
import { Service } from '../src/service/service.js';
import { memoryLogger } from '../test/helpers/memory-logger.js';
import { serviceConfig } from '../test/helpers/service-config.js';
import { deleteKeys } from '../test/helpers/redis.js';
const n = Number(process.env.N ?? 1);
const lat = Number(process.env.LAT ?? 0);
const jobs = Number(process.env.JOBS ?? 80);
const portal = await startPortal({ latencyMs: lat });
const redis = new Redis({ port: 6397, db: 11 });
await redis.flushdb();
const config = serviceConfig({ queues: { conferencia: { flow: 'conferencia', minWorkers: n, maxWorkers: n }, emissao: { flow: 'emissao' } }, capacity: { enabled: false }, http: { enabled: true, host: '127.0.0.1', port: 0 } }, { REDIS_DB: '11', REDIS_PORT: '6397', PORTAL_URL: portal.url, RPA_USUARIO: 'demo', RPA_SENHA: 'demo123' });
const s = new Service({ config, logger: memoryLogger('warn').logger });
await s.start();
await redis.rpush('fila:conferencia', ...Array.from({ length: jobs }, (_, i) => JSON.stringify({ documento: String(50000 + i) })));
const t0 = Date.now();
for (;;) {
  await new Promise((r) => setTimeout(r, 3000));
  const st = (await (await fetch(`${s.httpUrl}/api/status`)).json()) as any;
  const c = st.capacity;
  console.log(((Date.now() - t0) / 1000).toFixed(0), 'cpu%', c.cpuPercent, 'ours', c.ourCores, 'others', c.otherCores, 'perUnit', JSON.stringify(c.cpuPerUnit), JSON.stringify(c.unitCpu));
  if ((await redis.llen('fila:resultado')) >= jobs) break;
}
console.log('done', (Date.now() - t0) / 1000);
await s.stop(); await portal.close(); await redis.flushdb(); redis.disconnect();
