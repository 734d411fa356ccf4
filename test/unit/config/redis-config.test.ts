import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { printableConfig } from '../../../src/config/printable.js';
import { parseRedisUrl } from '../../../src/config/redis-settings.js';
import { ConfigError } from '../../../src/lib/errors.js';
import { redisOptions } from '../../../src/redis/connection.js';
import { refusalOf } from '../../../src/redis/refusal.js';
import { unknownEnvWarnings } from '../../../src/config/unknown-env.js';

let dir: string;

function load(env: Record<string, string> = {}, file: Record<string, unknown> = {}) {
  fs.writeFileSync(path.join(dir, 'test.json'), JSON.stringify(file));
  return loadConfig({ env: { NODE_ENV: 'test', ...env }, configDir: dir });
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-redis-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Redis connection settings', () => {
  it('defaults: plain TCP to 127.0.0.1:6379, default user, no Sentinel, no WAIT', () => {
    const r = load().redis;
    expect(r).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0, username: '', password: '', sentinels: [] });
    expect(r.tls).toBeUndefined();
    expect(r.waitReplicas).toBe(0);
    const o = redisOptions(r, 'command');
    expect(o).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0 });
    expect(o.tls).toBeUndefined();
    expect(o.sentinels).toBeUndefined();
  });

  it('REDIS_URL wins for every part it states; the separate keys fill what it leaves out', () => {
    const full = load({
      REDIS_URL: 'rediss://app:s%40nha@cache.example:6380/4',
      REDIS_HOST: 'ignored',
      REDIS_PORT: '1111',
      REDIS_DB: '9',
      REDIS_USERNAME: 'other',
      REDIS_PASSWORD: 'other-pw',
    }).redis;
    expect(full).toMatchObject({ host: 'cache.example', port: 6380, db: 4, username: 'app', password: 's@nha' });
    expect(full.tls).toMatchObject({ verify: true, caFile: '' });

    const partial = load({
      REDIS_URL: 'redis://cache.example',
      REDIS_DB: '3',
      REDIS_USERNAME: 'rpa',
      REDIS_PASSWORD: 'pw',
    });
    expect(partial.redis).toMatchObject({ host: 'cache.example', port: 6379, db: 3, username: 'rpa', password: 'pw' });
    expect(partial.redis.tls).toBeUndefined();
  });

  it('parses the URL forms and refuses what it would silently ignore', () => {
    expect(parseRedisUrl('redis://[::1]:7000/2')).toEqual({ tls: false, host: '::1', port: 7000, db: 2 });
    expect(parseRedisUrl('redis://:only-pw@h')).toEqual({ tls: false, host: 'h', port: 6379, password: 'only-pw' });
    for (const bad of ['http://h', 'redis://h/x', 'redis://h/0?tls=true', 'not a url']) {
      expect(typeof parseRedisUrl(bad)).toBe('string');
    }
    const err = errorOf(() => load({ REDIS_URL: 'redis://u:segredo-123@h/abc' }));
    expect(err.key).toBe('redis.url');
    expect(err.message).toContain('env REDIS_URL');
    expect(err.message).not.toContain('segredo-123');
  });

  it('never prints the password of the URL, nor the sentinel password', () => {
    const c = load({ REDIS_URL: 'redis://app:url-pw-777@h:6379/1', REDIS_SENTINEL_PASSWORD: 'sent-pw-888' });
    const printed = JSON.stringify(printableConfig(c));
    expect(printed).not.toContain('url-pw-777');
    expect(printed).not.toContain('sent-pw-888');
    expect(printed).toContain('"username":"app"');
  });

  it('TLS: on with rediss://, REDIS_TLS or a CA file; files must be readable; redis:// + TLS settings is an error', () => {
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, 'not really a pem');
    const c = load({ REDIS_TLS_CA_FILE: ca, REDIS_TLS_SERVERNAME: 'redis.internal' }).redis;
    expect(c.tls).toEqual({ caFile: ca, certFile: '', keyFile: '', servername: 'redis.internal', verify: true });
    const o = redisOptions(c, 'blocking');
    expect(o.tls).toMatchObject({ servername: 'redis.internal', rejectUnauthorized: true });
    expect(String(o.tls?.ca)).toBe('not really a pem');
    expect(o.maxRetriesPerRequest).toBeNull();

    expect(load({ REDIS_TLS: 'true' }).redis.tls).toMatchObject({ caFile: '', verify: true });

    const missing = errorOf(() => load({ REDIS_TLS_CA_FILE: path.join(dir, 'nope.pem') }));
    expect(missing.key).toBe('redis.tls.caFile');
    expect(missing.message).toMatch(/env REDIS_TLS_CA_FILE names .*nope\.pem, which cannot be read \(ENOENT\)/);

    const half = errorOf(() => load({ REDIS_TLS_CERT_FILE: ca }));
    expect(half.key).toBe('redis.tls.keyFile');

    const contradiction = errorOf(() => load({ REDIS_URL: 'redis://h', REDIS_TLS_CA_FILE: ca }));
    expect(contradiction.message).toContain('use rediss://');
  });

  it('Sentinel: host:port list, master name required, WAIT for 1 replica by default, not with REDIS_URL', () => {
    const c = load({
      REDIS_SENTINELS: 's1:26379, [::1]:26380,s3:26381',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'sp',
      REDIS_USERNAME: 'rpa',
      REDIS_PASSWORD: 'pw',
    }).redis;
    expect(c.sentinels).toEqual([
      { host: 's1', port: 26379 },
      { host: '::1', port: 26380 },
      { host: 's3', port: 26381 },
    ]);
    expect(c.waitReplicas).toBe(1);
    const o = redisOptions(c, 'command');
    expect(o).toMatchObject({
      name: 'mymaster',
      role: 'master',
      sentinelPassword: 'sp',
      username: 'rpa',
      password: 'pw',
    });
    expect(o.host).toBeUndefined();

    expect(
      load({ REDIS_SENTINELS: 's1:1', REDIS_SENTINEL_NAME: 'm' }, { redis: { waitReplicas: 0 } }).redis.waitReplicas,
    ).toBe(0);
    expect(errorOf(() => load({ REDIS_SENTINELS: 's1:26379' })).key).toBe('redis.sentinelName');
    expect(errorOf(() => load({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'm' })).message).toContain(
      '"s1"; expected host:port',
    );
    expect(errorOf(() => load({ REDIS_SENTINELS: 's1:1', REDIS_SENTINEL_NAME: 'm', REDIS_URL: 'redis://h' })).key).toBe(
      'redis.url',
    );
  });

  it('the new variables are known (no "did you mean" warning)', () => {
    const env = {
      REDIS_URL: 'x',
      REDIS_USERNAME: 'x',
      REDIS_TLS_CA_FILE: 'x',
      REDIS_TLS_CERT_FILE: 'x',
      REDIS_TLS_KEY_FILE: 'x',
      REDIS_TLS_SERVERNAME: 'x',
      REDIS_SENTINELS: 'x',
      REDIS_SENTINEL_NAME: 'x',
      REDIS_SENTINEL_PASSWORD: 'x',
    };
    expect(unknownEnvWarnings(env)).toEqual([]);
  });

  it('queue names rpa and pool are reserved; the prefix must be a plain name', () => {
    for (const name of ['rpa', 'pool']) {
      const err = errorOf(() => load({}, { queues: { [name]: { flow: 'echo' } } }));
      expect(err.key).toBe(`queues.${name}`);
      expect(err.message).toContain('reserved');
    }
    expect(errorOf(() => load({ REDIS_PREFIX: '' })).key).toBe('redis.prefix');
    expect(errorOf(() => load({ REDIS_PREFIX: 'a*' })).key).toBe('redis.prefix');
  });
});

describe('refusals: one line naming the cause', () => {
  const config = load0();
  function load0() {
    return {
      host: 'h',
      port: 1,
      db: 0,
      password: 'x',
      prefix: 'bull',
      username: 'rpa',
    };
  }

  it('wrong user or password, untrusted certificate, TLS refused, ACL', () => {
    const user = refusalOf(new Error('WRONGPASS invalid username-password pair or user is disabled.'), config);
    expect(user?.kind).toBe('user');
    expect(user?.line).toMatch(/^Redis recusou o usuário 'rpa' em h:1 \(WRONGPASS .*\): confira REDIS_USERNAME/);
    const cert = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(refusalOf(cert, config)?.line).toMatch(
      /^certificado do Redis recusado em h:1 \(SELF_SIGNED_CERT_IN_CHAIN: /,
    );
    const tls = Object.assign(new Error('tlsv13 alert certificate required'), {
      code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
    });
    expect(refusalOf(tls, config)?.kind).toBe('tls');
    expect(
      refusalOf(new Error("NOPERM this user has no permissions to run the 'flushall' command"), config)?.kind,
    ).toBe('permission');
    const sentinel = new Error(
      'All sentinels are unreachable. Retrying from scratch after 10ms. Last error: WRONGPASS invalid',
    );
    expect(refusalOf(sentinel, config)?.kind).toBe('sentinel-user');
    expect(
      refusalOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), config),
    ).toBeUndefined();
  });
});
