/** Configuration layers (files, environment) and the one-line errors that name where a bad value came from. */
import fs from 'node:fs';
import { ConfigError } from '../lib/errors.js';
import { schema } from './schema.js';

/** One source of settings: a JSON file's object, named for error messages. */
export interface Layer {
  readonly source: string;
  readonly data: Record<string, unknown>;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readLayer(file: string): Layer {
  const source = `file ${file}`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config error: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config error: ${file} is not valid JSON: ${(err as Error).message}`, undefined, source);
  }
  if (!isPlainObject(data)) throw new ConfigError(`config error: ${file} must hold a JSON object`, undefined, source);
  return { source, data };
}

/** Env var bound to each schema key, e.g. `redis.port` → `REDIS_PORT`. */
function envBindings(node: Record<string, unknown>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [key, value] of Object.entries(node)) {
    if (!isPlainObject(value)) continue;
    const full = prefix ? `${prefix}.${key}` : key;
    if ('doc' in value && 'default' in value) {
      if (typeof value.env === 'string') out.set(full, value.env);
    } else {
      envBindings(value, full, out);
    }
  }
  return out;
}

function getPath(data: Record<string, unknown>, dotted: string): { found: boolean; value: unknown } {
  let node: unknown = data;
  for (const part of dotted.split('.')) {
    if (!isPlainObject(node) || !(part in node)) return { found: false, value: undefined };
    node = node[part];
  }
  return { found: true, value: node };
}

/** Which layer set `key` last, and the raw value it gave. */
export function sourceOf(
  key: string,
  layers: readonly Layer[],
  env: NodeJS.ProcessEnv,
): { source: string; raw: unknown } {
  const variable = envBindings(schema).get(key);
  if (variable && env[variable] !== undefined) return { source: `env ${variable}`, raw: env[variable] };
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (!layer) continue;
    const hit = getPath(layer.data, key);
    if (hit.found) return { source: layer.source, raw: hit.value };
  }
  return { source: 'default', raw: undefined };
}

/** Dotted paths of the schema keys marked `sensitive: true` (passwords, users, the webhook URL). */
export function sensitivePaths(node: Record<string, unknown> = schema, prefix = '', out: string[] = []): string[] {
  for (const [key, value] of Object.entries(node)) {
    if (!isPlainObject(value)) continue;
    const full = prefix ? `${prefix}.${key}` : key;
    if ('doc' in value && 'default' in value) {
      if (value.sensitive === true) out.push(full);
    } else {
      sensitivePaths(value, full, out);
    }
  }
  return out;
}

/** A value for a config error: the value itself, or `***` for a sensitive key whatever its type. */
export function describe(raw: unknown, key: string): string {
  if (sensitivePaths().includes(key)) return raw === undefined ? 'unset' : '***';
  const text = typeof raw === 'string' ? JSON.stringify(raw) : (JSON.stringify(raw) ?? String(raw));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Turns convict's multi-line validation message into one line naming key, source and expectation. */
export function convictError(err: Error, layers: readonly Layer[], env: NodeJS.ProcessEnv): ConfigError {
  const lines = err.message.split('\n').filter((l) => l.trim() !== '');
  const first = lines[0] ?? err.message;
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more problem(s))` : '';
  const unknown = /configuration param '([^']+)' not declared in the schema/.exec(first);
  if (unknown?.[1]) {
    const key = unknown[1];
    const { source } = sourceOf(key, layers, env);
    return new ConfigError(
      `config error: unknown key '${key}' in ${source}: not a setting of this service${more}`,
      key,
      source,
    );
  }
  const invalid = /^([\w.]+): (.*?)(?:: value was .*)?$/.exec(first);
  if (invalid?.[1]) {
    const key = invalid[1];
    const { source, raw } = sourceOf(key, layers, env);
    const expected = (invalid[2] ?? '').replace(/^must be /, '');
    return new ConfigError(
      `config error: '${key}' from ${source} is ${describe(raw, key)}; expected ${expected}${more}`,
      key,
      source,
    );
  }
  return new ConfigError(`config error: ${first}${more}`);
}
