/**
 * Catches misspelled variables: one of ours (a prefix of the schema's variables, like `SCALER_`)
 * that names no setting would otherwise be ignored without a word.
 */
import { schema } from './schema.js';

/** Variables with our prefixes that are read outside the schema, or belong to other tools. */
const KNOWN_ELSEWHERE = [
  'PORTAL_PORT', // npm run portal, npm run demo
  'PORTAL_HOST', // npm run portal
  'PORTAL_LATENCY_MS', // npm run portal (the demo portal's faults and limits)
  'PORTAL_MAX_CONCURRENT',
  'PORTAL_ERROR_RATE',
  'PORTAL_SESSION_SECONDS',
  'HTTP_PROXY', // proxies, for any HTTP client
];

/** Prefixes never taken as ours even if a schema variable starts so (`NODE_OPTIONS` is Node's). */
const FOREIGN_PREFIXES = new Set(['NODE_']);

/** Every `env` name of the convict schema. */
export function schemaEnvNames(node: Record<string, unknown> = schema, out: string[] = []): string[] {
  for (const value of Object.values(node)) {
    if (typeof value !== 'object' || value === null) continue;
    const entry = value as Record<string, unknown>;
    if (typeof entry.env === 'string') out.push(entry.env);
    else if (!('doc' in entry)) schemaEnvNames(entry, out);
  }
  return out;
}

/** Edit distance (insertions, deletions, substitutions), two rows at a time. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * One warning line per variable of `env` that has one of our prefixes but names no setting,
 * naming the closest real variable. Sorted by name.
 */
export function unknownEnvWarnings(env: NodeJS.ProcessEnv, names: readonly string[] = schemaEnvNames()): string[] {
  const known = new Set([...names, ...KNOWN_ELSEWHERE]);
  const prefixes = new Set(
    names.map((n) => n.slice(0, n.indexOf('_') + 1)).filter((p) => p !== '' && !FOREIGN_PREFIXES.has(p)),
  );
  const lines: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || ![...prefixes].some((p) => name.startsWith(p))) continue;
    let closest = '';
    let best = Infinity;
    for (const candidate of names) {
      const d = levenshtein(name, candidate);
      if (d < best) [best, closest] = [d, candidate];
    }
    lines.push(
      `variável de ambiente ${name} não corresponde a nenhuma configuração e foi ignorada; quis dizer ${closest}?`,
    );
  }
  return lines;
}
