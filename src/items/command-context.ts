/** What every items command shares: its I/O, options, context and confirmation. */
import type { parseArgs } from 'node:util';
import type { AppConfig } from '../config/types.js';
import { escapeControl } from '../lib/control-chars.js';
import type { createRedis } from '../redis/connection.js';

/** How the commands talk to the operator. */
export interface ItemsIo {
  out(line: string): void;
  err(line: string): void;
  /** Asks a yes/no question; false when no one can answer. */
  confirm(question: string): Promise<boolean>;
}

/**
 * The commands' I/O with every control character of every line escaped: the lines show items,
 * payloads, failure reasons and logs, and an ESC sequence in one of them must not rewrite what
 * the operator reads before `Continuar? [s/N]` (a line is one line, whatever the item holds).
 */
export function printableIo(io: ItemsIo): ItemsIo {
  return {
    out: (line) => io.out(escapeControl(line)),
    err: (line) => io.err(escapeControl(line)),
    confirm: (question) => io.confirm(question),
  };
}

/** A command line that does not make sense: print the usage and exit 2. */
export class UsageError extends Error {}

export const OPTIONS = {
  all: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  reason: { type: 'string' },
  limit: { type: 'string' },
  filter: { type: 'string' },
  patch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface Ctx {
  readonly config: AppConfig;
  readonly io: ItemsIo;
  readonly redis: ReturnType<typeof createRedis>;
}

/** True when `--yes` was given or the operator says yes; says nothing changed otherwise. */
export async function confirmed(ctx: Ctx, values: Values): Promise<boolean> {
  if (values.yes) return true;
  if (await ctx.io.confirm('Continuar? [s/N] ')) return true;
  ctx.io.out('nada alterado');
  return false;
}
