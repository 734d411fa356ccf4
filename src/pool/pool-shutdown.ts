import type { Logger } from '../logging/logger.js';
import { sleep } from '../lib/sleep.js';
import type { PoolUnit } from './pool-types.js';

/** The worker pool's two-phase close (worker-pool.ts): graceful for a while, then forced. */

/**
 * Retires every unit and lets running jobs finish for up to `graceMs`; then forces the rest
 * (their jobs return to waiting) and waits up to `forceMs` for them. `pending` is the pool's work
 * still under way (starts, slot claims and releases), waited for with the units.
 */
export async function closeInTwoPhases(
  all: () => PoolUnit[],
  pending: () => Iterable<Promise<unknown>>,
  options: { graceMs: number; forceMs: number; logger: Logger },
): Promise<void> {
  const { graceMs, forceMs, logger } = options;
  const settled = (units: PoolUnit[], stop: (u: PoolUnit) => Promise<void>): Promise<'done'> =>
    Promise.allSettled([...units.map(stop), ...pending()]).then(() => 'done' as const);
  const graceful = settled(all(), (u) => u.retire());
  if ((await raceTimeout(graceful, graceMs)) === 'done') return;
  logger.warn(
    `os jobs ativos não terminaram em ${graceMs / 1000}s; forçando a parada dos workers (seus jobs voltam à espera)`,
  );
  const forced = settled(all(), (u) => u.forceClose());
  if ((await raceTimeout(forced, forceMs)) === 'done') return;
  logger.warn(
    'workers ainda aguardando o Redis após a parada forçada; seus jobs ficam ativos (a verificação de travados os devolve à espera quando o Redis voltar)',
  );
}

async function raceTimeout(work: Promise<'done'>, ms: number): Promise<'done' | 'timeout'> {
  if (!Number.isFinite(ms)) return work;
  const expired = new AbortController();
  const timeout = sleep(ms, expired.signal).then(() => 'timeout' as const);
  const outcome = await Promise.race([work, timeout]);
  expired.abort();
  return outcome;
}
