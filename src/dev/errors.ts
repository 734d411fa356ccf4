/** EX_UNAVAILABLE (sysexits.h): a program we need is not there or would not start. */
export const EXIT_UNAVAILABLE = 69;

/**
 * Something a developer must install or fix before `npm run demo` / `npm test` can run. Entry
 * points print the message (one line, no stack) and exit with {@link EXIT_UNAVAILABLE}.
 */
export class DevSetupError extends Error {
  override readonly name: string = 'DevSetupError';
}
