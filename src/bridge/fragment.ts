/**
 * Bounded, one-line renderings of text that comes from items (a payload id, a `JSON.parse` error
 * quoting the item, BullMQ's refusal): what the bridge puts in log lines and in invalid-entry
 * details. Whatever the item holds, the result is short and has no character that could end a log
 * line or drive a terminal, so an item can neither forge a line nor flood the log.
 */
import { createHash } from 'node:crypto';

/** Characters a fragment keeps (escapes included) before it is cut. */
export const FRAGMENT_MAX_CHARS = 200;

/**
 * True for a code point that must not reach a log line as is: C0 and C1 controls, DEL, line and
 * paragraph separators, the bidirectional marks, overrides and isolates (they reorder what a
 * terminal shows), and lone surrogates (not text; some log readers reject them).
 */
function isUnsafe(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) ||
    (cp >= 0xd800 && cp <= 0xdfff)
  );
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeOne(ch: string): string {
  const short = SHORT_ESCAPES[ch];
  if (short !== undefined) return short;
  const cp = ch.codePointAt(0) ?? 0;
  return isUnsafe(cp) ? `\\u${cp.toString(16).padStart(4, '0')}` : ch;
}

/** The first 8 hex digits of the SHA-1 of `data` (to tell two cut fragments apart). */
export function shortHash(data: string | Buffer): string {
  return createHash('sha1').update(data).digest('hex').slice(0, 8);
}

/**
 * `text` on one line in at most `maxChars` characters (escapes such as `\n` or `\u001b`
 * included; a backslash is doubled), followed, when it had to be cut, by its whole length in
 * bytes and a short hash: `{"a":1\n[ESCALAR] x…[1048576 bytes, sha1 3f2a9c01]`. Never throws.
 */
export function boundedFragment(text: string, maxChars = FRAGMENT_MAX_CHARS): string {
  try {
    let out = '';
    let cut = false;
    for (const ch of text) {
      const escaped = escapeOne(ch);
      if (out.length + escaped.length > maxChars) {
        cut = true;
        break;
      }
      out += escaped;
    }
    return cut ? `${out}…[${Buffer.byteLength(text, 'utf8')} bytes, sha1 ${shortHash(text)}]` : out;
  } catch {
    return `[${text.length} caracteres não mostrados]`;
  }
}

/** {@link boundedFragment} of raw bytes read as UTF-8 (bad bytes shown as U+FFFD); the length and hash are of the bytes. */
export function boundedBytes(raw: Buffer, maxChars = FRAGMENT_MAX_CHARS): string {
  try {
    // 4 bytes per character at most: enough of the head to fill the fragment.
    const headBytes = maxChars * 4;
    if (raw.length <= headBytes) return boundedFragment(raw.toString('utf8'), maxChars);
    const head = boundedFragment(raw.subarray(0, headBytes).toString('utf8'), maxChars).replace(/…\[[^\]]*\]$/, '');
    return `${head}…[${raw.length} bytes, sha1 ${shortHash(raw)}]`;
  } catch {
    return `[${raw.length} bytes não mostrados]`;
  }
}
