import type { AppConfig } from '../../../src/config/types.js';
import { loadConfig } from '../../../src/config/load.js';

/** The default config with the HTTP part replaced (port 0: any free port). */
export function httpTestConfig(http: Partial<AppConfig['http']> = {}, overrides: Partial<AppConfig> = {}): AppConfig {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    ...overrides,
    http: { enabled: true, host: '127.0.0.1', port: 0, auth: { user: '', password: '' }, ...http },
  };
}

/** `Authorization` header value for basic auth. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
