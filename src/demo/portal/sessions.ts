import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/sleep.js';

/** In-memory login sessions with an absolute expiry. */
export class SessionStore {
  readonly #expiresAt = new Map<string, number>();

  constructor(
    private readonly lifetimeMs: () => number,
    private readonly now: Clock,
  ) {}

  /** Opens a session and returns its id (the cookie value). */
  open(): string {
    const id = randomBytes(18).toString('base64url');
    this.#expiresAt.set(id, this.now() + this.lifetimeMs());
    return id;
  }

  /** `valid`, `expired` (known but past its expiry; forgotten now) or `unknown`. */
  check(id: string | undefined): 'valid' | 'expired' | 'unknown' {
    if (!id) return 'unknown';
    const expiresAt = this.#expiresAt.get(id);
    if (expiresAt === undefined) return 'unknown';
    if (expiresAt <= this.now()) {
      this.#expiresAt.delete(id);
      return 'expired';
    }
    return 'valid';
  }

  end(id: string | undefined): void {
    if (id) this.#expiresAt.delete(id);
  }

  /** Makes every open session expired at once (tests: "the session expired between jobs"). */
  expireAll(): void {
    const past = this.now() - 1;
    for (const id of this.#expiresAt.keys()) this.#expiresAt.set(id, past);
  }
}
