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

/** `path` (with its query, if any) under the portal's address. */
export function portalUrl(portal: PortalCredentials, path: string): URL {
  return new URL(path, portal.url.endsWith('/') ? portal.url : `${portal.url}/`);
}

/** The page's URL when it is on the portal's `path` (same origin, same path, any query); else undefined. */
export function portalPageUrl(page: Page, portal: PortalCredentials, path: string): URL | undefined {
  const expected = portalUrl(portal, path);
  let current: URL;
  try {
    current = new URL(page.url());
  } catch {
    return undefined;
  }
  return current.origin === expected.origin && current.pathname === expected.pathname ? current : undefined;
}

/** Goes to `path` under the portal; fails retryably on HTTP 5xx. */
export async function openPortalPage(page: Page, portal: PortalCredentials, path: string): Promise<void> {
  const target = portalUrl(portal, path).toString();
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
export async function onLoginPage(page: Page): Promise<boolean> {
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
  await logIn(page, portal, ready, `logging in to open ${path}`);
  return { loggedIn: true };
}

/**
 * On the portal's login form: logs in and waits for `ready`, an element of the page the portal
 * sends back to (its `next`); a refused login or an error page becomes the usual typed error.
 */
export async function logIn(page: Page, portal: PortalCredentials, ready: Locator, what: string): Promise<void> {
  await page.getByLabel('Usuário').fill(portal.user);
  await page.getByLabel('Senha').fill(portal.password);
  await submitAndWaitForNavigation(page, page.getByRole('button', { name: 'Entrar' }));
  await expectOutcome(page, ready, what);
}

/**
 * Clicks `submit` and waits until the navigation it starts commits in the main frame: locators
 * then query the new document, never the one the click left (whose result may look alike).
 */
export async function submitAndWaitForNavigation(page: Page, submit: Locator): Promise<void> {
  await Promise.all([
    page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() }),
    submit.click(),
  ]);
}
