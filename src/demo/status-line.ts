/**
 * Console output of the demo: ordinary lines, plus a progress status that is one line rewritten in
 * place on a terminal and, when piped (CI, docker logs), a plain line every few seconds.
 */
import type { Clock } from '../lib/sleep.js';

/** Where the demo's output goes. */
export interface DemoOutput {
  /** A line that stays (a scaling event, a warning). */
  line(text: string): void;
  /** The current progress; may be shown or skipped. */
  status(text: string): void;
  /** Leaves the status line behind (before a summary or exit). */
  endStatus(): void;
}

/** Options for {@link StatusLine}. */
export interface StatusLineOptions {
  /** @defaultValue process.stdout */
  readonly stream?: NodeJS.WriteStream;
  /** Rewrite one line in place. @defaultValue stream.isTTY */
  readonly tty?: boolean;
  /** Without a TTY, at most one status line this often. @defaultValue 5000 */
  readonly plainEveryMs?: number;
  /** @defaultValue Date.now */
  readonly clock?: Clock;
}

export class StatusLine implements DemoOutput {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  readonly #clock: Clock;
  #current = '';
  #lastPlainAt = -Infinity;

  constructor(options: StatusLineOptions = {}) {
    this.#stream = options.stream ?? process.stdout;
    this.#tty = options.tty ?? Boolean(this.#stream.isTTY);
    this.#plainEveryMs = options.plainEveryMs ?? 5000;
    this.#clock = options.clock ?? Date.now;
  }

  line(text: string): void {
    if (this.#tty && this.#current) {
      this.#stream.write(`\r\x1b[K${text}\n${this.#current}`);
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  status(text: string): void {
    if (this.#tty) {
      this.#current = text;
      this.#stream.write(`\r\x1b[K${text}`);
      return;
    }
    const now = this.#clock();
    if (now - this.#lastPlainAt < this.#plainEveryMs) return;
    this.#lastPlainAt = now;
    this.#stream.write(`${text}\n`);
  }

  endStatus(): void {
    if (this.#tty && this.#current) this.#stream.write('\n');
    this.#current = '';
  }
}
