import type { AlertRule } from '../config/types.js';
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

/**
 * POSTs one alert. Never throws: a webhook that is down or slow must not stop the evaluation of
 * the other rules, so failures are logged and reported as `false`.
 */
export async function postAlert({ url, payload, logger, timeoutMs = 5000 }: PostAlertOptions): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
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
    logger.warn(`webhook de alerta falhou: ${err instanceof Error ? err.message : String(err)}`, {
      rule: payload.rule,
      webhook: safeUrl(url),
    });
    return false;
  }
}

/** The URL without credentials or query string (which may carry tokens), for logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
