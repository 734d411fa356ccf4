/**
 * Error classes named for what the caller should do (STYLE.md "Errors say what the caller should do").
 */

/** A business failure (document not found, wrong password, bad input): the job fails without retry. */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
  constructor(
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The browser died or disconnected under the job: retry the job on a relaunched browser. */
export class BrowserCrashedError extends Error {
  override readonly name = 'BrowserCrashedError';
}

/** The job ran over its timeout: the attempt fails and may be retried. */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`job exceeded its timeout of ${timeoutMs} ms`);
  }
}

/** Configuration is wrong: print the one-line message and exit 78 (EX_CONFIG). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly key?: string,
    readonly source?: string,
  ) {
    super(message);
  }
}

/** Normalise anything thrown into an Error, once, at the boundary (graphile's coerceError). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`non-error thrown: ${String(thrown)}`);
  }
}
