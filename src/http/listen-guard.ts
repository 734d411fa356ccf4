import type { AppConfig } from '../config/types.js';
import { ConfigError } from '../lib/errors.js';

/** Hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The auth the server must enforce, or a ConfigError (exit 78) saying why it must not start: the board can
 * retry, delete and empty queues, so without credentials it only listens on loopback; and half
 * a credential pair is a mistake, not a reason to drop auth silently.
 */
export function authForListen(http: AppConfig['http']): { user: string; password: string } | undefined {
  const { user, password } = http.auth;
  if ((user === '') !== (password === '')) {
    throw new ConfigError(
      `http.auth needs both BOARD_USER and BOARD_PASSWORD (only ${user ? 'BOARD_USER' : 'BOARD_PASSWORD'} is set)`,
    );
  }
  if (user !== '') return { user, password };
  if (!isLoopbackHost(http.host)) {
    throw new ConfigError(
      `refusing to listen on ${http.host} without BOARD_USER/BOARD_PASSWORD (set them, or HTTP_HOST=127.0.0.1)`,
    );
  }
  return undefined;
}
