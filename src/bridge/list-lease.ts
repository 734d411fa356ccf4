import { sleep } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import { abortable } from './abortable.js';

/** One bridge per source list at a time (held while it runs, taken over when its instance dies). */
export interface ListLease {
  /** Takes or renews the lease; false while another bridge holds it. */
  hold(): Promise<boolean>;
  /** Gives it up (at shutdown), so another bridge takes over at once. */
  release(): Promise<void>;
  /** Pause before asking again while another bridge holds it. */
  readonly retryMs: number;
}

/** True when this bridge holds the lease; false after waiting `retryMs` while another holds it. */
export async function holdOrWait(lease: ListLease, signal: AbortSignal): Promise<boolean> {
  if (await abortable(lease.hold(), signal)) return true;
  await sleep(lease.retryMs, signal);
  return false;
}

/** Gives the lease up at shutdown, without waiting on an unreachable Redis. */
export async function releaseQuietly(lease: ListLease | undefined): Promise<void> {
  if (!lease) return;
  await withTimeout(lease.release(), 1000, 'releasing the list lease').catch(() => undefined);
}
