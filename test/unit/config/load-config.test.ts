import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { sensitivePaths } from '../../../src/config/layers.js';
import { printableConfig } from '../../../src/config/printable.js';
import { ConfigError } from '../../../src/lib/errors.js';

let dir: string;

function writeJson(name: string, data: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(data));
  return file;
}

function load(env: Record<string, string> = {}) {
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
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  writeJson('test.json', {});
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('has the contract defaults and the seed’s two queues', () => {
    const c = load();
    expect(c.redis).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0, password: '' });
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(c.log).toEqual({ level: 'info', file: 'logs/main_rpa.log', format: 'text', maxSizeMb: 50, maxFiles: 5 });
    expect(c.artifacts).toEqual({ maxMb: 1024, sweepIntervalSeconds: 600 });
    expect(c.scaler).toMatchObject({
      intervalSeconds: 60,
      jobsPerWorker: 50,
      maxWorkersPerQueue: 10,
      maxTotalWorkers: 20,
    });
    expect(c.queues.map((q) => q.name)).toEqual(['conferencia', 'emissao']);
    expect(c.queues[0]).toMatchObject({
      flow: 'conferencia',
      sourceList: 'fila:conferencia',
      resultList: 'fila:resultado',
      invalidList: 'fila:conferencia:invalid',
      jobsPerWorker: 50,
      maxWorkers: 10,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.queues[0])).toBe(true);
    expect(Object.isFrozen(c.redis)).toBe(true);
  });

  it('lands every contract env var on its key', () => {
    const c = load({
      REDIS_HOST: 'redis.internal',
      REDIS_PORT: '6380',
      REDIS_DB: '2',
      REDIS_PASSWORD: 'r-secret',
      RPA_USUARIO: 'joao',
      RPA_SENHA: 's3nha',
      PORTAL_URL: 'http://portal:9000',
      BROWSER_EXECUTABLE_PATH: '/opt/chrome',
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: '3100',
      BOARD_USER: 'ops',
      BOARD_PASSWORD: 'b-secret',
      LOG_LEVEL: 'debug',
      LOG_FILE: '/tmp/x.log',
      LOG_FORMAT: 'json',
      LOG_MAX_SIZE_MB: '7',
      LOG_MAX_FILES: '2',
      SCALER_INTERVAL_SECONDS: '5',
      SCALER_JOBS_PER_WORKER: '25',
      SCALER_MAX_WORKERS_PER_QUEUE: '4',
      SCALER_MAX_TOTAL_WORKERS: '6',
    });
    expect(c.redis).toMatchObject({ host: 'redis.internal', port: 6380, db: 2, password: 'r-secret' });
    expect(c.portal).toEqual({ url: 'http://portal:9000', user: 'joao', password: 's3nha' });
    expect(c.browser.executablePath).toBe('/opt/chrome');
    expect(c.http).toMatchObject({ host: '0.0.0.0', port: 3100, auth: { user: 'ops', password: 'b-secret' } });
    expect(c.log).toEqual({ level: 'debug', file: '/tmp/x.log', format: 'json', maxSizeMb: 7, maxFiles: 2 });
    expect(c.scaler).toMatchObject({
      intervalSeconds: 5,
      jobsPerWorker: 25,
      maxWorkersPerQueue: 4,
      maxTotalWorkers: 6,
    });
    // Queue defaults follow the scaler's globals, and the stabilization window defaults to one interval.
    expect(c.queues[0]).toMatchObject({ jobsPerWorker: 25, maxWorkers: 4 });
    expect(c.scaler.stabilizationSeconds).toBe(5);
  });

  it('gives the bridge an id unique per process by default (the instance id), and takes BRIDGE_ID as it is', () => {
    const c = load();
    expect(c.bridge.id).toBe(`${os.hostname()}-${process.pid}`);
    expect(c.bridge.id).toBe(c.instance.id);
    // A stable instance id (a StatefulSet pod name) gives a stable bridge id.
    expect(load({ INSTANCE_ID: 'rpa-pool-0' }).bridge.id).toBe('rpa-pool-0');
    expect(load({ INSTANCE_ID: 'rpa-pool-0', BRIDGE_ID: 'ponte-a' }).bridge.id).toBe('ponte-a');
  });

  it('lands the bridge bounds on their keys, with their defaults, and bounds maxItemBytes', () => {
    expect(load().bridge).toMatchObject({
      maxItemBytes: 1_048_576,
      maxBatchBytes: 8_388_608,
      oversizedMaxItems: 10,
      oversizedMaxBytes: 268_435_456,
      invalidMaxItems: 10_000,
      invalidMaxBytes: 67_108_864,
    });
    const c = load({
      BRIDGE_MAX_BATCH_BYTES: '1000',
      BRIDGE_OVERSIZED_MAX_ITEMS: '0',
      BRIDGE_OVERSIZED_MAX_BYTES: '2000',
      BRIDGE_INVALID_MAX_ITEMS: '3',
      BRIDGE_INVALID_MAX_BYTES: '4000',
    });
    expect(c.bridge).toMatchObject({
      maxBatchBytes: 1000,
      oversizedMaxItems: 0,
      oversizedMaxBytes: 2000,
      invalidMaxItems: 3,
      invalidMaxBytes: 4000,
    });
    expect(errorOf(() => load({ BRIDGE_MAX_ITEM_BYTES: String(65 * 1024 * 1024) })).message).toContain(
      'bridge.maxItemBytes',
    );
  });

  it('rejects SCALER_MAX_TOTAL_WORKERS=abc naming the key and the variable', () => {
    const err = errorOf(() => load({ SCALER_MAX_TOTAL_WORKERS: 'abc' }));
    expect(err.key).toBe('scaler.maxTotalWorkers');
    expect(err.message).toContain("'scaler.maxTotalWorkers'");
    expect(err.message).toContain('env SCALER_MAX_TOTAL_WORKERS');
    expect(err.message).toContain('"abc"');
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('rejects REDIS_PORT=70000 naming the key', () => {
    const err = errorOf(() => load({ REDIS_PORT: '70000' }));
    expect(err.key).toBe('redis.port');
    expect(err.message).toMatch(/'redis\.port' from env REDIS_PORT is "70000"; expected .*port/);
  });

  it('rejects an unknown key in a JSON file naming the key and the file', () => {
    const file = writeJson('extra.json', { scaler: { intervalSecs: 10 } });
    const err = errorOf(() => load({ CONFIG_FILE: file }));
    expect(err.key).toBe('scaler.intervalSecs');
    expect(err.message).toContain(`file ${file}`);
  });

  it('rejects an unknown key and a wrong type inside a queue entry', () => {
    writeJson('test.json', { queues: { conferencia: { maxWorker: 3 } } });
    const unknown = errorOf(() => load());
    expect(unknown.key).toBe('queues.conferencia.maxWorker');
    expect(unknown.message).toContain(path.join(dir, 'test.json'));
    writeJson('test.json', { queues: { emissao: { attempts: '3' } } });
    const wrongType = errorOf(() => load());
    expect(wrongType.message).toMatch(/'queues\.emissao\.attempts' from file .* is "3"; expected an integer >= 1/);
  });

  it('rejects a wrong type in a file naming the file', () => {
    writeJson('test.json', { scaler: { jobsPerWorker: 0 } });
    const err = errorOf(() => load());
    expect(err.key).toBe('scaler.jobsPerWorker');
    expect(err.message).toContain(`file ${path.join(dir, 'test.json')}`);
  });

  it('layers defaults < config/<env>.json < CONFIG_FILE < env vars', () => {
    writeJson('test.json', {
      scaler: { intervalSeconds: 30, jobsPerWorker: 40, maxTotalWorkers: 12 },
      queues: { conferencia: { maxWorkers: 3 }, extra: { flow: 'echo' } },
    });
    const top = writeJson('top.json', {
      scaler: { jobsPerWorker: 20, maxTotalWorkers: 8 },
      queues: { conferencia: { attempts: 5 } },
    });
    const c = load({ CONFIG_FILE: top, SCALER_MAX_TOTAL_WORKERS: '4' });
    expect(c.scaler.intervalSeconds).toBe(30); // env file over default
    expect(c.scaler.jobsPerWorker).toBe(20); // CONFIG_FILE over env file
    expect(c.scaler.maxTotalWorkers).toBe(4); // env var over everything
    expect(c.scaler.maxWorkersPerQueue).toBe(10); // default untouched
    const conf = c.queues.find((q) => q.name === 'conferencia');
    expect(conf).toMatchObject({ maxWorkers: 3, attempts: 5, flow: 'conferencia', jobsPerWorker: 20 });
    expect(c.queues.map((q) => q.name)).toEqual(['conferencia', 'emissao', 'extra']);
    expect(c.queues.find((q) => q.name === 'extra')).toMatchObject({ flow: 'echo', sourceList: 'fila:extra' });
  });

  it('selects the file by NODE_ENV and fails clearly when it does not exist', () => {
    writeJson('staging.json', { http: { port: 4000 } });
    expect(loadConfig({ env: { NODE_ENV: 'staging' }, configDir: dir }).http.port).toBe(4000);
    const err = errorOf(() => loadConfig({ env: { NODE_ENV: 'nope' }, configDir: dir }));
    expect(err.message).toContain('nope.json');
  });

  it('reports a file that is not JSON', () => {
    fs.writeFileSync(path.join(dir, 'test.json'), '{ nope');
    expect(errorOf(() => load()).message).toContain('is not valid JSON');
  });

  it('validates alert rules', () => {
    writeJson('test.json', { alerts: { rules: [{ name: 'x', kind: 'workersAbove', threshold: -1 }] } });
    expect(errorOf(() => load()).message).toMatch(/alerts\.rules.*threshold/);
    writeJson('test.json', {
      alerts: { rules: [{ name: 'x', kind: 'backlogAbove', threshold: 10, forSeconds: 60, queue: 'emissao' }] },
    });
    expect(load().alerts.rules[0]).toEqual({
      name: 'x',
      kind: 'backlogAbove',
      threshold: 10,
      forSeconds: 60,
      queue: 'emissao',
    });
  });

  it('never prints RPA_SENHA or other secrets', () => {
    const c = load({ RPA_SENHA: 'super-secreta-123', REDIS_PASSWORD: 'redis-pw-456', BOARD_PASSWORD: 'board-pw-789' });
    const printed = JSON.stringify(printableConfig(c));
    expect(printed).not.toContain('super-secreta-123');
    expect(printed).not.toContain('redis-pw-456');
    expect(printed).not.toContain('board-pw-789');
    expect(printed).toContain('***');
    // An invalid value next to a secret does not leak the secret in the error either.
    const err = errorOf(() => load({ RPA_SENHA: 'super-secreta-123', REDIS_PORT: 'x' }));
    expect(err.message).not.toContain('super-secreta-123');
  });

  it('masks exactly the keys the schema marks sensitive', () => {
    expect(sensitivePaths().sort()).toEqual([
      'alerts.webhookUrl',
      'http.auth.password',
      'http.auth.user',
      'portal.password',
      'portal.user',
      'redis.password',
      'redis.sentinelPassword',
      'redis.url',
    ]);
    const printed = printableConfig(load({ BOARD_USER: 'quem', BOARD_PASSWORD: 'pw', REDIS_PREFIX: 'px' }));
    expect(printed.http).toMatchObject({ auth: { user: '***', password: '***' } });
    expect(printed.redis).toMatchObject({ prefix: 'px', password: '' });
  });

  it('keeps only the queues asked for, adding unconfigured ones with the defaults (the bridge CLI)', () => {
    const c = loadConfig({
      env: { NODE_ENV: 'test', JOB_ATTEMPTS: '5', BRIDGE_BATCH_SIZE: '25' },
      configDir: dir,
      onlyQueues: ['emissao', 'extra-1'],
    });
    expect(c.queues.map((q) => q.name)).toEqual(['emissao', 'extra-1']);
    expect(c.queues[1]).toMatchObject({
      flow: 'extra-1',
      sourceList: 'fila:extra-1',
      invalidList: 'fila:extra-1:invalid',
      resultList: 'fila:resultado',
      jobsPerWorker: 50,
      attempts: 5,
    });
    expect(c.bridge.batchSize).toBe(25);
    expect(errorOf(() => loadConfig({ env: { NODE_ENV: 'test' }, configDir: dir, onlyQueues: ['a:b'] })).key).toBe(
      'queues.a:b',
    );
  });

  it('never echoes the value of a sensitive key in a config error, whatever its type', () => {
    for (const [key, value] of [
      ['redis', { password: 98765432 }],
      ['redis', { password: ['lista-98765432'] }],
      ['portal', { password: { s: 'obj-98765432' } }],
      ['http', { auth: { user: 98765432, password: 'x' } }],
      ['alerts', { webhookUrl: 98765432 }],
    ] as const) {
      writeJson('test.json', { [key]: value });
      const err = errorOf(() => load());
      expect(err.message, JSON.stringify(value)).not.toContain('98765432');
      // (an object where a string belongs is reported by convict as a missing key, with no value)
      if (!JSON.stringify(value).includes('obj-')) expect(err.message).toContain('***');
    }
  });

  it('prints the alert webhook as scheme://host only (no user:password, no token, no path)', () => {
    writeJson('test.json', {
      alerts: {
        webhookUrl:
          'https://hookuser:hook-pass-123@hooks.example/services/T000/B000/path-secret-789?token=tok-456#frag',
      },
    });
    const c = load();
    expect(c.alerts.webhookUrl).toContain('tok-456');
    const printed = JSON.stringify(printableConfig(c));
    expect(printed).not.toContain('hook-pass-123');
    expect(printed).not.toContain('hookuser');
    expect(printed).not.toContain('tok-456');
    expect(printed).not.toContain('path-secret-789');
    expect(printed).toContain('"webhookUrl":"https://hooks.example"');
  });
});
