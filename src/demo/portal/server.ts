import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { systemClock, type Clock } from '../../lib/sleep.js';
import { lookupDocument } from './documents.js';
import { ConcurrencyLimit } from './concurrency.js';
import { FaultInjector } from './faults.js';
import {
  alert,
  conferenciaPage,
  documentTable,
  EMISSION_TYPES,
  emissaoPage,
  emissionDonePage,
  layout,
  loginPage,
  serverErrorPage,
} from './html.js';
import { SessionStore } from './sessions.js';

/** Options for {@link startPortal}. */
export interface PortalOptions {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** @defaultValue 'demo' */
  user?: string;
  /** @defaultValue 'demo123' */
  password?: string;
  /** Added to every response. @defaultValue 0 */
  latencyMs?: number;
  /** Each response's latency varies by up to this much either way (uniform). @defaultValue 0 */
  latencyJitterMs?: number;
  /** Probability (0..1) that a request answers HTTP 500. @defaultValue 0 */
  errorRate?: number;
  /** At most this many requests served at once (latency included); the rest wait their turn. @defaultValue 0 (no limit) */
  maxConcurrent?: number;
  /** How long a login lasts. @defaultValue 1_800_000 (30 min) */
  sessionLifetimeMs?: number;
  /** @defaultValue Math.random */
  random?: () => number;
  /** @defaultValue Date.now */
  clock?: Clock;
}

/** Counters a test or the demo can read. */
export interface PortalStats {
  logins: number;
  failedLogins: number;
  requests: number;
  serverErrors: number;
  emissions: number;
  /** With `maxConcurrent`: the most requests served at once, and how many had to wait for a slot. */
  readonly peakConcurrent: number;
  readonly waitedForSlot: number;
}

/** A running portal. */
export interface PortalHandle {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly stats: Readonly<PortalStats>;
  /** The next `count` requests under `pathPrefix` answer HTTP 500. */
  failNext(count: number, pathPrefix?: string): void;
  /** Forced failures not yet served. */
  pendingForcedFailures(): number;
  /** Every open session is expired now: the next page asks to log in again. */
  expireSessions(): void;
  setLatencyMs(ms: number): void;
  setLatencyJitterMs(ms: number): void;
  setErrorRate(rate: number): void;
  /** Requests served at once from now on (0: no limit). */
  setMaxConcurrent(max: number): void;
  /** Stops listening and drops open connections (pending slow responses included); idempotent. */
  close(): Promise<void>;
}

export const DEMO_USER = 'demo';
export const DEMO_PASSWORD = 'demo123';
export const SESSION_COOKIE = 'portal_sid';

interface Emission {
  readonly documentNumber: string;
  readonly typeLabel: string;
  readonly issuedAt: string;
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/conferencia';
}

function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
}

/** Starts the demo portal (express 5, server-rendered HTML). */
export async function startPortal(options: PortalOptions = {}): Promise<PortalHandle> {
  const user = options.user ?? DEMO_USER;
  const password = options.password ?? DEMO_PASSWORD;
  const clock = options.clock ?? systemClock;
  const lifetimeMs = options.sessionLifetimeMs ?? 1_800_000;
  const sessions = new SessionStore(() => lifetimeMs, clock);
  const faults = new FaultInjector({
    latencyMs: options.latencyMs ?? 0,
    latencyJitterMs: options.latencyJitterMs ?? 0,
    errorRate: options.errorRate ?? 0,
    random: options.random ?? Math.random,
  });
  const slots = new ConcurrencyLimit(options.maxConcurrent ?? 0);
  const stats: PortalStats = {
    logins: 0,
    failedLogins: 0,
    requests: 0,
    serverErrors: 0,
    emissions: 0,
    get peakConcurrent() {
      return slots.stats.peak;
    },
    get waitedForSlot() {
      return slots.stats.waited;
    },
  };
  const emissions = new Map<string, Emission>();
  const closing = new AbortController();
  let protocolSeq = 0;

  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    stats.requests += 1;
    // A slot is held until the response is sent (or the connection drops).
    const release = await slots.acquire(closing.signal);
    if (!release) return;
    res.once('finish', release);
    res.once('close', release);
    await faults.delay(closing.signal);
    if (closing.signal.aborted) return;
    if (faults.shouldFail(req.path)) {
      stats.serverErrors += 1;
      res.status(500).type('html').send(serverErrorPage(req.path));
      return;
    }
    next();
  });

  /** Protected pages: a missing or expired session goes to the login page, remembering where it was. */
  function requireSession(req: Request, res: Response, next: NextFunction): void {
    const state = sessions.check(readCookie(req, SESSION_COOKIE));
    if (state === 'valid') {
      next();
      return;
    }
    const params = new URLSearchParams({ next: req.originalUrl });
    if (state === 'expired') params.set('expired', '1');
    res.redirect(303, `/login?${params.toString()}`);
  }

  app.get('/', (_req, res) => res.redirect(303, '/conferencia'));

  app.get('/login', (req, res) => {
    const notice = req.query.expired === '1' ? '<p role="status">Sua sessão expirou. Entre novamente.</p>' : '';
    res.type('html').send(loginPage(safeNext(req.query.next), notice));
  });

  app.post('/login', (req, res) => {
    const next = safeNext(field(req.body, 'next'));
    if (field(req.body, 'usuario') !== user || field(req.body, 'senha') !== password) {
      stats.failedLogins += 1;
      res
        .status(401)
        .type('html')
        .send(loginPage(next, alert('login-failed', 'Usuário ou senha inválidos.')));
      return;
    }
    stats.logins += 1;
    const id = sessions.open();
    res.cookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: lifetimeMs });
    res.redirect(303, next);
  });

  app.post('/logout', (req, res) => {
    sessions.end(readCookie(req, SESSION_COOKIE));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  });

  app.get('/conferencia', requireSession, (req, res) => {
    const query = typeof req.query.documento === 'string' ? req.query.documento.trim() : '';
    if (!query) {
      res.type('html').send(conferenciaPage('', ''));
      return;
    }
    const found = lookupDocument(query);
    if (found.kind === 'found') {
      res.type('html').send(conferenciaPage(query, documentTable(found.record)));
    } else if (found.kind === 'not-found') {
      res
        .status(404)
        .type('html')
        .send(conferenciaPage(query, alert('not-found', `Documento ${query} não encontrado.`)));
    } else {
      res
        .status(400)
        .type('html')
        .send(conferenciaPage(query, alert('invalid', `Número de documento inválido: "${query}" (4 a 20 dígitos).`)));
    }
  });

  app.get('/emissao', requireSession, (_req, res) => {
    res.type('html').send(emissaoPage(''));
  });

  app.post('/emissao', requireSession, (req, res) => {
    const documentNumber = field(req.body, 'documento');
    const type = field(req.body, 'tipo');
    const typeLabel = (EMISSION_TYPES as Record<string, string>)[type];
    if (!typeLabel) {
      res
        .status(400)
        .type('html')
        .send(emissaoPage(alert('invalid', 'Selecione o tipo de documento.')));
      return;
    }
    const found = lookupDocument(documentNumber);
    if (found.kind === 'not-found') {
      res
        .status(404)
        .type('html')
        .send(emissaoPage(alert('not-found', `Documento ${documentNumber} não encontrado.`)));
      return;
    }
    if (found.kind === 'invalid') {
      res
        .status(400)
        .type('html')
        .send(emissaoPage(alert('invalid', `Número de documento inválido: "${documentNumber}" (4 a 20 dígitos).`)));
      return;
    }
    protocolSeq += 1;
    stats.emissions += 1;
    const protocol = `PRT-${String(protocolSeq).padStart(8, '0')}`;
    emissions.set(protocol, { documentNumber, typeLabel, issuedAt: new Date(clock()).toISOString() });
    res.type('html').send(emissionDonePage(protocol, documentNumber, typeLabel));
  });

  app.get('/emissao/comprovante/:protocol', requireSession, (req, res) => {
    const protocol = String(req.params.protocol);
    const emission = emissions.get(protocol);
    if (!emission) {
      res
        .status(404)
        .type('html')
        .send(layout('Comprovante', alert('not-found', 'Protocolo desconhecido.'), true));
      return;
    }
    res
      .type('text/plain; charset=utf-8')
      .attachment(`comprovante-${protocol}.txt`)
      .send(
        [
          'COMPROVANTE DE EMISSÃO',
          `Protocolo: ${protocol}`,
          `Documento: ${emission.documentNumber}`,
          `Tipo: ${emission.typeLabel}`,
          `Emitido em: ${emission.issuedAt}`,
          '',
        ].join('\n'),
      );
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    stats,
    failNext: (count, pathPrefix) => faults.failNext(count, pathPrefix),
    pendingForcedFailures: () => faults.pendingForcedFailures,
    expireSessions: () => sessions.expireAll(),
    setLatencyMs: (ms) => faults.setLatencyMs(ms),
    setLatencyJitterMs: (ms) => faults.setLatencyJitterMs(ms),
    setErrorRate: (rate) => faults.setErrorRate(rate),
    setMaxConcurrent: (max) => slots.setMax(max),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
