/** Thrown by {@link abortable} when the signal aborts first. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

/**
 * Resolves or rejects as `promise` does, or rejects with {@link AbortedError} as soon as `signal`
 * aborts. Needed because an ioredis command queued while the connection is reconnecting is never
 * settled when the connection is then closed; the abandoned promise's outcome is swallowed.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new AbortedError('aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(new AbortedError('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
