import type { AlertRule } from '../config/types.js';
import { safeUrl, scrubUrlSecrets } from '../lib/safe-url.js';
import type { Logger } from '../logging/logger.js';

/** The JSON body POSTed to `alerts.webhookUrl`. */
export interface AlertPayload {
  readonly rule: string;
  readonly kind: AlertRule['kind'];
  /** Empty: all queues together. */
  readonly queue: string;
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
  /** ISO 8601. */
  readonly at: string;
}

/** Options for {@link postAlert}. */
export interface PostAlertOptions {
  readonly url: string;
  readonly payload: AlertPayload;
  readonly logger: Logger;
  /** @defaultValue 5000 */
  readonly timeoutMs?: number;
}

/** The URL split for sending: credentials (if any) become a basic-auth header, never part of the URL. */
function requestParts(url: string): { target: string; headers: Record<string, string> } {
  const u = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const password = decodeURIComponent(u.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  return { target: u.href, headers };
}

/**
 * POSTs one alert. Never throws: a webhook that is down or slow must not stop the evaluation of
 * the other rules, so failures are logged and reported as `false`. Credentials in the URL
 * (`https://user:pass@host/...`) are sent as an `Authorization: Basic` header; redirects are not
 * followed (a 3xx is a failure: the alert and its header must not travel elsewhere). Logs name
 * the webhook as scheme://host only (Slack, Teams and Discord keep their secret in the path), and
 * the error text is scrubbed of the URL's secrets.
 */
export async function postAlert({ url, payload, logger, timeoutMs = 5000 }: PostAlertOptions): Promise<boolean> {
  try {
    const { target, headers } = requestParts(url);
    const response = await fetch(target, {
      method: 'POST',
      headers,
      body: JSON.stringify(payload),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Drain the body so the connection is released.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) {
      logger.warn(`webhook de alerta respondeu ${response.status}`, { rule: payload.rule, webhook: safeUrl(url) });
      return false;
    }
    return true;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.warn(`webhook de alerta falhou: ${scrubUrlSecrets(message, url)}`, {
      rule: payload.rule,
      webhook: safeUrl(url),
    });
    return false;
  }
}
