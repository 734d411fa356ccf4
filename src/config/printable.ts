import { safeUrl } from '../lib/safe-url.js';
import { isPlainObject, sensitivePaths } from './layers.js';
import type { AppConfig } from './types.js';

/** Sensitive keys holding a URL: printed as scheme://host only (webhooks keep secrets in the path). */
const URL_PATHS = new Set(['alerts.webhookUrl']);

/** A copy of the config safe to print: the schema's `sensitive` values masked (`***` when set, empty when not). */
export function printableConfig(config: AppConfig): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const dotted of sensitivePaths()) {
    const parts = dotted.split('.');
    const leaf = parts.pop() as string;
    let node: unknown = copy;
    for (const part of parts) node = isPlainObject(node) ? node[part] : undefined;
    if (!isPlainObject(node) || node[leaf] === undefined || node[leaf] === '') continue;
    // A URL keeps what tells people where it points (scheme://host), never its credentials, path or query.
    node[leaf] = URL_PATHS.has(dotted) && typeof node[leaf] === 'string' ? safeUrl(node[leaf]) : '***';
  }
  return copy;
}
