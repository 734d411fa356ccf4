import { BrowserCrashedError, coerceError, PermanentJobError } from '../lib/errors.js';

/** Playwright's words for a browser, context or page that went away under a call. */
const TARGET_GONE =
  /Target (page, context or browser )?(has been )?closed|Target crashed|Browser has been closed|browser has disconnected/i;

/** What is known about an attempt when its flow threw. */
export interface FailureFacts {
  /** The attempt's signal, when it aborted (timeout, forced close, cancel): its reason wins. */
  readonly abortReason?: unknown;
  readonly aborted: boolean;
  /** The attempt ran with a browser. */
  readonly hadBrowser: boolean;
  /** The browser crashed, disconnected or lost its page during the attempt. */
  readonly browserLost: boolean;
}

/**
 * Names the failure for what the caller should do: the abort reason (e.g. `JobTimeoutError`),
 * the flow's own `PermanentJobError`, a `BrowserCrashedError` when the browser went away under
 * the flow, else the error as thrown. Pure.
 */
export function classifyFailure(thrown: unknown, facts: FailureFacts): Error {
  const error = coerceError(thrown);
  if (facts.aborted) return coerceError(facts.abortReason);
  if (error instanceof PermanentJobError || error instanceof BrowserCrashedError) return error;
  if (facts.hadBrowser && (facts.browserLost || TARGET_GONE.test(error.message))) {
    return new BrowserCrashedError(`the browser crashed or disconnected during the job: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}
