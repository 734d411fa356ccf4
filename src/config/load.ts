import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import convict from 'convict';
import { ConfigError } from '../lib/errors.js';
import { schema } from './schema.js';
import { convictError, describe, isPlainObject, readLayer, sourceOf, type Layer } from './layers.js';
import { resolveRedis } from './redis-settings.js';
import {
  checkQueueValue,
  DEFAULT_QUEUES,
  QUEUE_KEYS,
  QUEUE_NAME,
  RESERVED_QUEUE_NAMES,
  type QueueEntry,
  type QueueKey,
  type RateLimitEntry,
} from './queue-schema.js';
import { ALERT_KINDS, checkAlertRules } from './alert-rules.js';
import type { AlertRule, AppConfig, QueueConfig } from './types.js';

/** Where config/<env>.json live: the repository's `config/`, whether run from src/ or dist/. */
export const DEFAULT_CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config');

export interface LoadConfigOptions {
  /** Environment variables. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Folder holding `<NODE_ENV>.json`. @defaultValue the repository's config/ */
  configDir?: string;
  /**
   * Keep only these queues, in this order; a name not configured gets a queue with the defaults
   * (`fila:<name>`, the scaler's and jobs' values). @defaultValue every configured queue
   */
  onlyQueues?: readonly string[];
}

let formatsAdded = false;
function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  convict.addFormat({
    name: 'positive-int',
    validate: (v: unknown) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error('must be an integer >= 1');
    },
    coerce: (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
  });
  convict.addFormat({
    name: 'alert-rules',
    validate: (v: unknown) => {
      const problem = checkAlertRules(v);
      if (problem) throw new Error(problem);
    },
  });
}

function mergeQueues(layers: readonly Layer[]): Map<string, { entry: QueueEntry; sources: Map<string, string> }> {
  const queues = new Map<string, { entry: QueueEntry; sources: Map<string, string> }>();
  for (const [name, entry] of Object.entries(DEFAULT_QUEUES))
    queues.set(name, { entry: { ...entry }, sources: new Map() });
  for (const layer of layers) {
    const raw = layer.data.queues;
    if (raw === undefined) continue;
    if (!isPlainObject(raw))
      throw new ConfigError(
        `config error: 'queues' in ${layer.source} must be an object of queue entries`,
        'queues',
        layer.source,
      );
    for (const [name, entry] of Object.entries(raw)) {
      const key = `queues.${name}`;
      checkQueueName(name, key, layer.source);
      if (!isPlainObject(entry)) {
        throw new ConfigError(
          `config error: '${key}' in ${layer.source} is ${describe(entry, key)}; expected an object`,
          key,
          layer.source,
        );
      }
      const target = queues.get(name) ?? { entry: {}, sources: new Map<string, string>() };
      for (const [field, value] of Object.entries(entry)) {
        if (!(field in QUEUE_KEYS)) {
          throw new ConfigError(
            `config error: unknown key '${key}.${field}' in ${layer.source}: a queue takes ${Object.keys(QUEUE_KEYS).join(', ')}`,
            `${key}.${field}`,
            layer.source,
          );
        }
        const expected = checkQueueValue(field as QueueKey, value);
        if (expected) {
          throw new ConfigError(
            `config error: '${key}.${field}' from ${layer.source} is ${describe(value, `${key}.${field}`)}; expected ${expected}`,
            `${key}.${field}`,
            layer.source,
          );
        }
        if (field === 'rateLimit') target.entry.rateLimit = value as RateLimitEntry;
        else target.entry[field as Exclude<QueueKey, 'rateLimit'>] = value as string | number;
        target.sources.set(field, layer.source);
      }
      queues.set(name, target);
    }
  }
  return queues;
}

/** A queue name is part of key names: plain, and not one of the service's own key spaces. */
function checkQueueName(name: string, key: string, source?: string): void {
  const where = source ? ` in ${source}` : '';
  if (!QUEUE_NAME.test(name)) {
    throw new ConfigError(`config error: queue name '${name}'${where} must match ${QUEUE_NAME.source}`, key, source);
  }
  if (RESERVED_QUEUE_NAMES.includes(name)) {
    throw new ConfigError(
      `config error: queue name '${name}'${where} is reserved (<prefix>:${name}:* holds the service's own keys); pick another`,
      key,
      source,
    );
  }
}

/** The named queues only (added with defaults when not configured), or all when `names` is undefined. */
function selectQueues(
  merged: ReturnType<typeof mergeQueues>,
  names?: readonly string[],
): ReturnType<typeof mergeQueues> {
  if (!names) return merged;
  const selected: ReturnType<typeof mergeQueues> = new Map();
  for (const name of names) {
    checkQueueName(name, `queues.${name}`);
    selected.set(name, merged.get(name) ?? { entry: {}, sources: new Map() });
  }
  return selected;
}

type Validated = ReturnType<typeof buildConvict>['getProperties'] extends () => infer P ? P : never;

function buildConvict(env: NodeJS.ProcessEnv) {
  addFormats();
  return convict(schema, { env, args: [] });
}

function toQueueConfigs(merged: ReturnType<typeof mergeQueues>, p: Validated): QueueConfig[] {
  const out: QueueConfig[] = [];
  for (const [name, { entry }] of merged) {
    const sourceList = typeof entry.sourceList === 'string' ? entry.sourceList : `fila:${name}`;
    const num = (k: Exclude<QueueKey, 'rateLimit'>, fallback: number): number => {
      const value = entry[k];
      return typeof value === 'number' ? value : fallback;
    };
    const queue: QueueConfig = Object.freeze({
      name,
      flow: typeof entry.flow === 'string' ? entry.flow : name,
      sourceList,
      resultList: typeof entry.resultList === 'string' ? entry.resultList : 'fila:resultado',
      invalidList: `${sourceList}:invalid`,
      jobsPerWorker: num('jobsPerWorker', p.scaler.jobsPerWorker),
      autoDivisor: entry.jobsPerWorker === 'auto',
      targetDrainSeconds: num('targetDrainSeconds', 600),
      minWorkers: num('minWorkers', p.scaler.minWorkers),
      maxWorkers: num('maxWorkers', p.scaler.maxWorkersPerQueue),
      attempts: num('attempts', p.jobs.attempts),
      backoffMs: num('backoffMs', p.jobs.backoffMs),
      timeoutSeconds: num('timeoutSeconds', p.jobs.timeoutSeconds),
      ...(entry.rateLimit ? { rateLimit: { max: entry.rateLimit.max, durationMs: entry.rateLimit.durationMs } } : {}),
    });
    if (queue.minWorkers > queue.maxWorkers) {
      throw new ConfigError(
        `config error: 'queues.${name}.minWorkers' is ${queue.minWorkers}; expected at most maxWorkers (${queue.maxWorkers})`,
        `queues.${name}.minWorkers`,
      );
    }
    out.push(queue);
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Loads the configuration in the documented order: schema defaults, `config/<NODE_ENV>.json`, the
 * file named by `CONFIG_FILE`, environment variables. Throws {@link ConfigError} with a one-line
 * message naming the key, its source and what was expected.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const configDir = options.configDir ?? DEFAULT_CONFIG_DIR;
  const nodeEnv = env.NODE_ENV && env.NODE_ENV !== '' ? env.NODE_ENV : 'development';
  if (!/^[A-Za-z0-9_-]+$/.test(nodeEnv)) {
    throw new ConfigError(`config error: NODE_ENV '${nodeEnv}' is not a plain name`, 'env', 'env NODE_ENV');
  }
  const layers: Layer[] = [];
  const envFile = path.join(configDir, `${nodeEnv}.json`);
  if (fs.existsSync(envFile)) layers.push(readLayer(envFile));
  else if (env.NODE_ENV) {
    throw new ConfigError(
      `config error: NODE_ENV is '${nodeEnv}' but ${envFile} does not exist`,
      'env',
      'env NODE_ENV',
    );
  }
  if (env.CONFIG_FILE) layers.push(readLayer(path.resolve(env.CONFIG_FILE)));

  const cv = buildConvict(env);
  for (const layer of layers) {
    const rest: Record<string, unknown> = { ...layer.data };
    delete rest.queues;
    try {
      cv.load(rest);
    } catch (err) {
      throw convictError(err as Error, layers, env);
    }
  }
  try {
    cv.validate({ allowed: 'strict' });
  } catch (err) {
    throw convictError(err as Error, layers, env);
  }
  const p = cv.getProperties();
  const queues = toQueueConfigs(selectQueues(mergeQueues(layers), options.onlyQueues), p);
  if (queues.length === 0) throw new ConfigError('config error: no queue configured', 'queues');

  const config: AppConfig = {
    env: nodeEnv,
    redis: resolveRedis(p.redis, (key) => sourceOf(key, layers, env).source),
    portal: p.portal,
    browser: { ...p.browser, args: p.browser.args.map(String) },
    http: p.http,
    log: { ...p.log, format: p.log.format },
    scaler: {
      ...p.scaler,
      stabilizationSeconds:
        p.scaler.stabilizationSeconds < 0 ? p.scaler.intervalSeconds : p.scaler.stabilizationSeconds,
    },
    capacity: p.capacity,
    // Unique per process unless set: two processes with one bridge id would share a processing list.
    bridge: { ...p.bridge, id: p.bridge.id === '' ? p.instance.id : p.bridge.id },
    jobs: p.jobs,
    instance: {
      ...p.instance,
      maxWorkers: p.instance.maxWorkers < 0 ? p.scaler.maxTotalWorkers : p.instance.maxWorkers,
    },
    artifactsDir: p.artifactsDir,
    artifacts: p.artifacts,
    shutdown: p.shutdown,
    metrics: p.metrics,
    alerts: { ...p.alerts, rules: p.alerts.rules.map((r) => normaliseRule(r)) },
    queues,
  };
  for (const rule of config.alerts.rules) {
    if (rule.queue && !queues.some((q) => q.name === rule.queue)) {
      throw new ConfigError(
        `config error: alert rule '${rule.name}' names unknown queue '${rule.queue}'`,
        'alerts.rules',
      );
    }
  }
  return deepFreeze(config);
}

function normaliseRule(raw: unknown): AlertRule {
  const r = raw as Record<string, unknown>;
  return {
    name: String(r.name),
    kind: r.kind as (typeof ALERT_KINDS)[number],
    queue: typeof r.queue === 'string' ? r.queue : '',
    threshold: Number(r.threshold),
    forSeconds: typeof r.forSeconds === 'number' ? r.forSeconds : 0,
  };
}
