import fs from 'node:fs';

/** The package version (`package.json` two levels up from both `src/service` and `dist/service`). */
export const SERVICE_VERSION: string = (() => {
  try {
    const raw = fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(raw) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'desconhecida';
  } catch {
    return 'desconhecida';
  }
})();
