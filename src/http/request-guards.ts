/**
 * Guards against requests a browser makes on an operator's behalf from another site: cross-site
 * writes (the board's POST/PUT/PATCH/DELETE would carry cached basic-auth credentials) and DNS
 * rebinding (a hostile name resolving to 127.0.0.1 reaches an unauthenticated loopback server).
 */
import type { Request, RequestHandler } from 'express';
import { isLoopbackHost } from './listen-guard.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The host name of a `Host` header value (port and IPv6 brackets removed), lower case. */
export function hostNameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') === -1 ? undefined : h.indexOf(']'));
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/**
 * Why a state-changing request must be refused as cross-site, or undefined when it may go on.
 * `Sec-Fetch-Site` (every current browser) must be `same-origin` or `none` (typed by the user);
 * without it, an `Origin` must name this very host. A request with neither header does not come
 * from a browser page (curl, scripts) and is let through: auth still applies.
 */
export function crossSiteReason(req: Pick<Request, 'method' | 'headers'>): string | undefined {
  if (!WRITE_METHODS.has(req.method.toUpperCase())) return undefined;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== '') {
    return site === 'same-origin' || site === 'none' ? undefined : `Sec-Fetch-Site: ${site}`;
  }
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === '') return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return `Origin: ${origin}`;
  }
  const host = (req.headers.host ?? '').toLowerCase();
  return originHost === host ? undefined : `Origin: ${origin}`;
}

/** Express middleware: 403 for cross-site POST/PUT/PATCH/DELETE (see {@link crossSiteReason}). */
export function refuseCrossSiteWrites(): RequestHandler {
  return (req, res, next) => {
    const reason = crossSiteReason(req);
    if (reason === undefined) {
      next();
      return;
    }
    res.status(403).type('text/plain').send(`cross-site request refused (${reason})\n`);
  };
}

/**
 * Express middleware for a server without auth (loopback only): accepts only `Host` names that
 * are loopback or the configured `http.host`, so a rebound DNS name cannot reach it.
 */
export function loopbackHostsOnly(configuredHost: string): RequestHandler {
  const configured = hostNameOf(configuredHost);
  return (req, res, next) => {
    const name = hostNameOf(req.headers.host ?? '');
    if (name !== '' && (isLoopbackHost(name) || name === configured)) {
      next();
      return;
    }
    res.status(421).type('text/plain').send('host not allowed: use 127.0.0.1 or localhost\n');
  };
}
