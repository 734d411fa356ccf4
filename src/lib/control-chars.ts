/**
 * Text we do not control (items, payloads, page content, error messages) made safe to print on
 * one line of a log or a terminal: no character in it can end the line, move the cursor, change
 * colours or reorder what is shown.
 */

/**
 * C0 controls (newline, carriage return, tab, ESC...), DEL, C1 controls (CSI among them), the
 * Unicode line and paragraph separators, and the bidirectional formatting characters.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hex(char: string, digits: number): string {
  return char.charCodeAt(0).toString(16).padStart(digits, '0');
}

/**
 * `text` with every control character written as an escape: `\n`, `\r`, `\t`, `\xHH` (other C0,
 * DEL and C1) and `\uHHHH` (line separators, bidi controls). Everything else, backslashes
 * included, is left as it is.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const named = NAMED[char];
    if (named) return named;
    return char.charCodeAt(0) <= 0xff ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`;
  });
}

/** Characters JSON.stringify leaves raw that a terminal or a line reader may still act on. */
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A JSON text (as `JSON.stringify` wrote it, control characters below 0x20 already escaped) with
 * the characters it leaves raw (DEL, C1, line separators, bidi controls) written as `\uHHHH`
 * escapes: the same JSON value, on one safe line.
 */
export function escapeJsonControl(json: string): string {
  return json.replace(JSON_UNSAFE, (char) => `\\u${hex(char, 4)}`);
}
