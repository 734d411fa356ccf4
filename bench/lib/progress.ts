/** Progress lines on stderr, so stdout keeps only the results table. */
const startedAt = performance.now();

export function progress(message: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}
