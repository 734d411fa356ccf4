import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The dashboard's static files. tsc copies no HTML or JS into dist/, so from `dist/http/` they
 * are found in the source tree beside it (`<package root>/src/http/public`; the Dockerfile copies
 * that folder too); from `src/http/` (vitest, tsx) right here.
 */
export function resolvePublicDir(
  candidates = [path.join(here, 'public'), path.join(here, '..', '..', 'src', 'http', 'public')],
): string {
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`dashboard files not found (looked for index.html in ${candidates.join(', ')})`);
  return found;
}

/**
 * chart.js's UMD build, served by us (no CDN). Its package exports no `dist/*` subpath, so the
 * CommonJS entry (`dist/chart.cjs`) is resolved and the UMD file taken beside it.
 */
export function resolveChartJs(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  const umd = path.join(path.dirname(entry), 'chart.umd.min.js');
  if (!fs.existsSync(umd)) throw new Error(`chart.js UMD build not found at ${umd}`);
  return umd;
}
