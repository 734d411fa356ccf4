/**
 * Resolves the Redis settings once: `REDIS_URL` and the separate keys, TLS, Sentinel, WAIT. The
 * rules (README "Redis in production"):
 * - `redis.url` wins for every part it states: host and port always, user, password and db when
 *   present; a part it leaves out comes from `redis.username` / `.password` / `.db`.
 * - TLS is on with `rediss://`, `redis.tls.enabled`, or a CA / client certificate file; a
 *   `redis://` URL together with TLS settings is a contradiction and an error.
 * - `redis.sentinels` finds the master through Sentinel; it cannot be combined with `redis.url`
 *   (the URL names one server).
 */
import fs from 'node:fs';
import { ConfigError } from '../lib/errors.js';
import type { HostPort, RedisConfig, RedisTlsConfig } from './types.js';

/** The `redis` section as convict validated it. */
export interface RawRedisSettings {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string;
  readonly password: string;
  readonly prefix: string;
  readonly tls: {
    readonly enabled: boolean;
    readonly caFile: string;
    readonly certFile: string;
    readonly keyFile: string;
    readonly servername: string;
    readonly verify: boolean;
  };
  readonly sentinels: readonly unknown[];
  readonly sentinelName: string;
  readonly sentinelPassword: string;
  readonly waitReplicas: number;
  readonly waitTimeoutMs: number;
}

/** Names where a key's value came from (`env REDIS_URL`, `file ...`, `default`), for error lines. */
export type SourceOf = (key: string) => string;

/** What a redis:// URL states; absent parts are left to the separate keys. */
interface UrlParts {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
}

/** Parses `redis://[user[:password]@]host[:port][/db]` (and `rediss://`). Never echoes the URL (it may hold a password). */
export function parseRedisUrl(url: string): UrlParts | string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'a URL such as redis://user:password@host:6379/0';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `a redis:// or rediss:// URL (got scheme ${parsed.protocol.replace(/:$/, '')})`;
  }
  if (parsed.hostname === '') return 'a URL with a host';
  if (parsed.search !== '' || parsed.hash !== '') return 'a URL without query or fragment (set options as keys)';
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) return 'a database number as the URL path (/0, /1, ...)';
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    tls: parsed.protocol === 'rediss:',
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username !== '' ? { username: decode(parsed.username) } : {}),
    ...(parsed.password !== '' ? { password: decode(parsed.password) } : {}),
    ...(path !== '' ? { db: Number(path) } : {}),
  };
}

/** `host:port`, `[v6]:port`; undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^\s*(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})\s*$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Masks the password of a redis:// URL for logs: `rediss://app:***@host:6380/2`. */
export function printableRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

function fail(key: string, source: string, message: string): never {
  throw new ConfigError(`config error: '${key}' from ${source} ${message}`, key, source);
}

function readable(key: string, file: string, sourceOf: SourceOf): void {
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (err) {
    fail(key, sourceOf(key), `names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function resolveTls(
  raw: RawRedisSettings,
  urlTls: boolean | undefined,
  sourceOf: SourceOf,
): RedisTlsConfig | undefined {
  const t = raw.tls;
  const asked = t.enabled || t.caFile !== '' || t.certFile !== '' || t.keyFile !== '';
  if (urlTls === false && asked) {
    const key = t.caFile !== '' ? 'redis.tls.caFile' : t.certFile !== '' ? 'redis.tls.certFile' : 'redis.tls.enabled';
    fail(key, sourceOf(key), `asks for TLS but redis.url (${sourceOf('redis.url')}) is redis://; use rediss://`);
  }
  if (!asked && urlTls !== true) return undefined;
  if ((t.certFile === '') !== (t.keyFile === '')) {
    const missing = t.certFile === '' ? 'redis.tls.certFile' : 'redis.tls.keyFile';
    fail(missing, sourceOf(missing), 'is empty; a client certificate needs both certFile and keyFile');
  }
  if (t.caFile !== '') readable('redis.tls.caFile', t.caFile, sourceOf);
  if (t.certFile !== '') readable('redis.tls.certFile', t.certFile, sourceOf);
  if (t.keyFile !== '') readable('redis.tls.keyFile', t.keyFile, sourceOf);
  return { caFile: t.caFile, certFile: t.certFile, keyFile: t.keyFile, servername: t.servername, verify: t.verify };
}

function resolveSentinels(raw: RawRedisSettings, sourceOf: SourceOf): HostPort[] {
  const list = raw.sentinels.map(String).filter((s) => s.trim() !== '');
  const sentinels = list.map((text) => {
    const hp = parseHostPort(text);
    if (!hp) fail('redis.sentinels', sourceOf('redis.sentinels'), `has ${JSON.stringify(text)}; expected host:port`);
    return hp;
  });
  if (sentinels.length === 0) return sentinels;
  if (raw.sentinelName === '') {
    fail('redis.sentinelName', sourceOf('redis.sentinelName'), 'is empty; Sentinel needs the name of the master');
  }
  if (raw.url !== '') {
    fail(
      'redis.url',
      sourceOf('redis.url'),
      'is set together with redis.sentinels; with Sentinel set user, password and db as keys',
    );
  }
  return sentinels;
}

/** The resolved {@link RedisConfig}; throws a {@link ConfigError} naming the key and its source. */
export function resolveRedis(raw: RawRedisSettings, sourceOf: SourceOf): RedisConfig {
  let url: UrlParts | undefined;
  if (raw.url !== '') {
    const parts = parseRedisUrl(raw.url);
    if (typeof parts === 'string') fail('redis.url', sourceOf('redis.url'), `is not usable; expected ${parts}`);
    url = parts;
  }
  // The prefix is also an ACL key pattern (`~<prefix>:*`): no glob characters, no blanks.
  if (!/^[^\s*?[\]\\]+$/.test(raw.prefix)) {
    fail(
      'redis.prefix',
      sourceOf('redis.prefix'),
      `is ${JSON.stringify(raw.prefix)}; expected a non-empty name without blanks or * ? [ ] \\`,
    );
  }
  const sentinels = resolveSentinels(raw, sourceOf);
  const tls = resolveTls(raw, url?.tls, sourceOf);
  return {
    host: url?.host ?? raw.host,
    port: url?.port ?? raw.port,
    db: url?.db ?? raw.db,
    username: url?.username ?? raw.username,
    password: url?.password ?? raw.password,
    prefix: raw.prefix,
    ...(tls ? { tls } : {}),
    sentinels,
    sentinelName: raw.sentinelName,
    sentinelPassword: raw.sentinelPassword,
    waitReplicas: raw.waitReplicas < 0 ? (sentinels.length > 0 ? 1 : 0) : raw.waitReplicas,
    waitTimeoutMs: raw.waitTimeoutMs,
  };
}
