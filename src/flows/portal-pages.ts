/**
 * What every portal flow does around its own form: open a page, log in when the portal asks,
 * and read the outcome (the expected element or an alert) into a result or a typed error.
 */
import type { Locator, Page } from 'playwright';
import { PermanentJobError } from '../lib/errors.js';
import type { PortalCredentials } from './flow.js';

/** The portal answered HTTP 5xx or an error page: a retryable failure. */
export class PortalUnavailableError extends Error {
  override readonly name = 'PortalUnavailableError';
}

/** Wrong user or password: permanent, retrying cannot help. */
export class PortalLoginError extends PermanentJobError {}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** Goes to `path` under the portal; fails retryably on HTTP 5xx. */
export async function openPortalPage(page: Page, portal: PortalCredentials, path: string): Promise<void> {
  const target = new URL(path, portal.url.endsWith('/') ? portal.url : `${portal.url}/`).toString();
  const response = await page.goto(target, { waitUntil: 'domcontentloaded' });
  if (response && response.status() >= 500) {
    throw new PortalUnavailableError(`portal answered HTTP ${response.status()} on ${pathOf(page.url())}`);
  }
}

/**
 * Waits for `expected` or an alert, whichever appears first. An alert becomes an error:
 * `server-error` is retryable, everything else (not found, invalid, login failed) permanent.
 */
export async function expectOutcome(page: Page, expected: Locator, what: string): Promise<void> {
  const alert = page.getByRole('alert');
  await expected.or(alert).first().waitFor({ state: 'visible' });
  if (await expected.first().isVisible()) return;
  const kind = (await alert.first().getAttribute('data-kind')) ?? 'unknown';
  const message = ((await alert.first().textContent()) ?? '').trim();
  if (kind === 'server-error') throw new PortalUnavailableError(`${what}: ${message}`);
  if (kind === 'login-failed') {
    throw new PortalLoginError(
      `portal login refused for the configured user: ${message} (check RPA_USUARIO / RPA_SENHA)`,
    );
  }
  throw new PermanentJobError(`${what}: ${message}`, { portalAlert: kind });
}

/** True when the portal is showing its login form. */
async function onLoginPage(page: Page): Promise<boolean> {
  return pathOf(page.url()) === '/login' && (await page.getByRole('button', { name: 'Entrar' }).count()) > 0;
}

/**
 * Opens `path`; when the session is missing or expired the portal redirects to its login form,
 * so log in and land back on `path`. `ready` is an element only `path` shows.
 */
export async function openLoggedIn(
  page: Page,
  portal: PortalCredentials,
  path: string,
  ready: Locator,
): Promise<{ loggedIn: boolean }> {
  await openPortalPage(page, portal, path);
  if (!(await onLoginPage(page))) {
    await expectOutcome(page, ready, `opening ${path}`);
    return { loggedIn: false };
  }
  await page.getByLabel('Usuário').fill(portal.user);
  await page.getByLabel('Senha').fill(portal.password);
  await page.getByRole('button', { name: 'Entrar' }).click();
  await expectOutcome(page, ready, `logging in to open ${path}`);
  return { loggedIn: true };
}
