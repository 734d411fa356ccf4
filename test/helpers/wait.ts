/** Polls `check` until it returns a truthy value or `timeoutMs` passes; never a fixed sleep. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  {
    timeoutMs = 30_000,
    intervalMs = 50,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      if (err instanceof FatalWaitError) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Thrown by a `waitFor` check to stop waiting at once (the awaited thing can no longer happen). */
export class FatalWaitError extends Error {
  override readonly name = 'FatalWaitError';
}
