/**
 * The programs `npm run demo` and `npm test` need on a developer's machine, and the one line of
 * help when one is missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright';
import { resolveExecutablePath, SYSTEM_CHROMIUM_PATHS } from '../workers/browser-launch.js';
import { DevSetupError } from './errors.js';

/** A binary that is not there, and where it was looked for. */
export interface MissingBinary {
  readonly binary: 'redis-server' | 'Chromium';
  readonly lookedFor: string;
}

const INSTALL = {
  'redis-server': { debian: 'redis-server', mac: 'brew install redis' },
  Chromium: { debian: 'chromium-headless-shell', mac: 'npx playwright install chromium' },
} as const;

/** What is missing, and the exact commands to install it: one line. */
export class MissingBinaryError extends DevSetupError {
  override readonly name = 'MissingBinaryError';

  constructor(
    readonly purpose: string,
    readonly missing: readonly MissingBinary[],
  ) {
    super(missingBinaryLine(purpose, missing));
  }
}

/** The help line, e.g. `npm test needs redis-server (...). Install: ...; or use docker compose --profile demo up`. */
export function missingBinaryLine(purpose: string, missing: readonly MissingBinary[]): string {
  const what = missing.map((m) => `${m.binary} (${m.lookedFor})`).join(' and ');
  const debian = `sudo apt-get install ${missing.map((m) => INSTALL[m.binary].debian).join(' ')}`;
  const mac = missing.map((m) => INSTALL[m.binary].mac).join(' && ');
  return `${purpose} needs ${what}. Install: ${debian} (Debian/Ubuntu), ${mac} (macOS); or use docker compose --profile demo up`;
}

/** The first executable file called `name` in `pathVar` (PATH), or undefined. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Where {@link findChromium} looks (injectable for tests). */
export interface ChromiumLookup {
  readonly exists: (file: string) => boolean;
  /** Playwright's own download (`npx playwright install chromium`). */
  readonly playwrightPath: () => string;
}

const realLookup: ChromiumLookup = {
  exists: fs.existsSync,
  playwrightPath: () => chromium.executablePath(),
};

/**
 * The Chromium the service would launch, as `browser-launch.ts` picks it: BROWSER_EXECUTABLE_PATH,
 * else a system build, else Playwright's own. Returns the path, or what is missing.
 */
export function findChromium(
  env: NodeJS.ProcessEnv = process.env,
  lookup: ChromiumLookup = realLookup,
): { path: string } | MissingBinary {
  const configured = env.BROWSER_EXECUTABLE_PATH?.trim() ?? '';
  if (configured) {
    return lookup.exists(configured)
      ? { path: configured }
      : { binary: 'Chromium', lookedFor: `BROWSER_EXECUTABLE_PATH=${configured} does not exist` };
  }
  const system = resolveExecutablePath('', lookup.exists);
  if (system) return { path: system };
  let own = '';
  try {
    own = lookup.playwrightPath();
  } catch {
    // no Playwright browsers folder
  }
  if (own && lookup.exists(own)) return { path: own };
  return { binary: 'Chromium', lookedFor: `none at ${SYSTEM_CHROMIUM_PATHS.join(', ')} or in Playwright's folder` };
}
