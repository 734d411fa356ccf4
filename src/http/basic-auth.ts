import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

/** Credentials the HTTP surface asks for (`BOARD_USER` / `BOARD_PASSWORD`). */
export interface BasicAuthCredentials {
  readonly user: string;
  readonly password: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * True when `header` carries exactly these credentials. Both sides are hashed first so
 * timingSafeEqual compares equal-length buffers and the time taken says nothing about the
 * length or content of the secret; user and password are both compared, always.
 */
export function credentialsMatch(header: string | undefined, expected: BasicAuthCredentials): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? '' : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  const userOk = timingSafeEqual(digest(user), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(password), digest(expected.password));
  return match !== null && colon !== -1 && userOk && passwordOk;
}

/** Express middleware: 401 with a `WWW-Authenticate: Basic` challenge unless the credentials match. */
export function basicAuth(expected: BasicAuthCredentials, realm = 'rpa-pool'): RequestHandler {
  return (req, res, next) => {
    if (credentialsMatch(req.headers.authorization, expected)) {
      next();
      return;
    }
    res.set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    res.status(401).type('text/plain').send('Authentication required\n');
  };
}
