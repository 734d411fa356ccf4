import fs from 'node:fs';
import type { LaunchOptions } from 'playwright';
import type { BrowserConfig } from '../config/types.js';

/** System Chromium builds tried, in order, when `browser.executablePath` is empty. */
export const SYSTEM_CHROMIUM_PATHS = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'] as const;

/**
 * Flags every launch gets: no background traffic or updates (they cost CPU and memory per
 * browser), no GPU, and no sandbox when running as root (Chromium refuses to start otherwise).
 */
export function requiredChromiumArgs(isRoot = process.getuid?.() === 0): string[] {
  return [
    ...(isRoot ? ['--no-sandbox'] : []),
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-gpu',
  ];
}

/**
 * The configured path; empty: the first system Chromium that exists; none: `undefined`, which
 * makes Playwright use its own download.
 */
export function resolveExecutablePath(
  configured: string,
  exists: (file: string) => boolean = fs.existsSync,
): string | undefined {
  if (configured) return configured;
  return SYSTEM_CHROMIUM_PATHS.find((candidate) => exists(candidate));
}

/** Launch options from config. */
export function launchOptionsFor(config: BrowserConfig): LaunchOptions {
  const executablePath = resolveExecutablePath(config.executablePath);
  const args = [...new Set([...requiredChromiumArgs(), ...config.args])];
  return {
    ...(executablePath ? { executablePath } : {}),
    headless: config.headless,
    args,
    timeout: config.launchTimeoutMs,
    // Signals are the unit's business (graceful shutdown closes browsers itself).
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  };
}
