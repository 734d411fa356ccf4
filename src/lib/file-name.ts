import { createHash } from 'node:crypto';

/** Longest name returned by {@link safeFileName}: well under the usual 255-byte limit. */
const MAX_LENGTH = 120;

/**
 * A file name built from text we do not control (page content, payload ids, job ids), safe to
 * join under a folder: only `A-Z a-z 0-9 . _ -` are kept (anything else, `/`, `\`, NUL and
 * non-ASCII included, becomes `_`), it never starts with a dot (no `.`, `..` or hidden files),
 * is never empty, and a long name is cut and ends with a hash of the whole so two long names
 * stay different. The extension (the part after the last dot, up to 10 characters) is kept.
 */
export function safeFileName(value: string): string {
  const name = safeChars(value);
  if (name.length <= MAX_LENGTH) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
  const hash = shortHash(value);
  return `${name.slice(0, MAX_LENGTH - ext.length - hash.length - 1)}-${hash}${ext}`;
}

/** Longest readable part of a {@link uniqueFileStem}. */
const STEM_TEXT_LENGTH = 64;

/**
 * A file-name stem that names `value` and no other value: its readable part (as in
 * {@link safeFileName}, at most 64 characters) then `-` and a hash of the whole value. Two values
 * that read alike (`a b` and `a_b`), or one that starts like another (`x` and `x-attempt1`), get
 * different stems; match files by the exact stem, never by a prefix of it.
 */
export function uniqueFileStem(value: string): string {
  return `${safeChars(value).slice(0, STEM_TEXT_LENGTH)}-${shortHash(value)}`;
}

/** 12 hex digits of the SHA-256 of `value` (UTF-8). */
export function shortHash(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 12);
}

function safeChars(value: string): string {
  const name = value.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  return name === '' ? '_' : name;
}
