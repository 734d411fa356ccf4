/**
 * The demo portal's document registry. Every number is deterministic: the same number always has
 * the same status, so tests and benchmarks can predict what the portal will show.
 */

/** Statuses a document can have, in the order the digit sum selects them. */
export const DOCUMENT_STATUSES = ['REGULAR', 'PENDENTE', 'EM ANÁLISE', 'CANCELADO'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/** Numbers the portal accepts: 4 to 20 digits. */
export const DOCUMENT_NUMBER_PATTERN = /^\d{4,20}$/;

/** Numbers starting with this prefix do not exist (the portal answers "não encontrado"). */
export const NOT_FOUND_PREFIX = '404';

export interface DocumentRecord {
  readonly number: string;
  readonly status: DocumentStatus;
  /** ISO date (YYYY-MM-DD) of the last update, derived from the number. */
  readonly updatedOn: string;
}

export type DocumentLookup =
  | { readonly kind: 'found'; readonly record: DocumentRecord }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'invalid' };

/** What the portal knows about `number`; pure, the same answer every time. */
export function lookupDocument(number: string): DocumentLookup {
  if (!DOCUMENT_NUMBER_PATTERN.test(number)) return { kind: 'invalid' };
  if (number.startsWith(NOT_FOUND_PREFIX)) return { kind: 'not-found' };
  let digitSum = 0;
  let mod = 0;
  for (const ch of number) {
    const digit = ch.charCodeAt(0) - 48;
    digitSum += digit;
    mod = (mod * 10 + digit) % 365;
  }
  const status = DOCUMENT_STATUSES[digitSum % DOCUMENT_STATUSES.length] ?? 'REGULAR';
  const updatedOn = new Date(Date.UTC(2024, 0, 1) + mod * 86_400_000).toISOString().slice(0, 10);
  return { kind: 'found', record: { number, status, updatedOn } };
}
