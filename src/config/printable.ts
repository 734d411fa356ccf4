import { isPlainObject } from './layers.js';
import { schema } from './schema.js';
import type { AppConfig } from './types.js';

/** Dotted paths of the schema keys marked `sensitive: true` (passwords, users). */
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

/** A copy of the config safe to print: the schema's `sensitive` values masked (`***` when set, empty when not). */
export function printableConfig(config: AppConfig): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const dotted of sensitivePaths()) {
    const parts = dotted.split('.');
    const leaf = parts.pop() as string;
    let node: unknown = copy;
    for (const part of parts) node = isPlainObject(node) ? node[part] : undefined;
    if (isPlainObject(node) && typeof node[leaf] === 'string' && node[leaf] !== '') node[leaf] = '***';
  }
  return copy;
}
