import { describe, expect, it } from 'vitest';
import { boundedBytes, boundedFragment, FRAGMENT_MAX_CHARS } from '../../../src/bridge/fragment.js';

/** Every way a terminal or a log reader could take a character for a line end. */
const LINE_BREAKS = new RegExp('[\\n\\r\\v\\f\\u0085\\u2028\\u2029]', 'u');

describe('boundedFragment', () => {
  it('keeps short plain text as it is', () => {
    expect(boundedFragment('doc-42 ação 💥')).toBe('doc-42 ação 💥');
  });

  it('escapes line breaks, controls, bidi overrides and lone surrogates, so a fragment cannot start a log line', () => {
    const forged = boundedFragment('x\n[ESCALAR] forged\r\u2028[REDUZIR]\u001b[2J\u202e\ud800\\');
    expect(forged).toBe('x\\n[ESCALAR] forged\\r\\u2028[REDUZIR]\\u001b[2J\\u202e\\ud800\\\\');
    expect(LINE_BREAKS.test(forged)).toBe(false);
  });

  it('cuts long text and says its length in bytes and a short hash', () => {
    const long = `${'é'.repeat(1000)}\n[ESCALAR]`;
    const out = boundedFragment(long);
    expect(out.startsWith('é'.repeat(FRAGMENT_MAX_CHARS))).toBe(true);
    expect(out).toMatch(/…\[2010 bytes, sha1 [0-9a-f]{8}\]$/);
    expect(out).not.toContain('ESCALAR');
  });

  it('counts escapes in the bound: 1 MiB of control characters stays a few hundred characters', () => {
    const out = boundedFragment('\u0001'.repeat(1024 * 1024));
    expect(out.length).toBeLessThan(FRAGMENT_MAX_CHARS + 50);
    expect(out).toContain('1048576 bytes');
  });

  it('never splits a surrogate pair', () => {
    const out = boundedFragment('💥'.repeat(500), 11);
    expect(out.startsWith('💥'.repeat(5) + '…')).toBe(true);
  });
});

describe('boundedBytes', () => {
  it('renders raw bytes on one line with their length and hash when cut', () => {
    const raw = Buffer.concat([Buffer.from('{"a":"\n[ESCALAR] x'), Buffer.alloc(100_000, 0xff)]);
    const out = boundedBytes(raw);
    expect(LINE_BREAKS.test(out)).toBe(false);
    expect(out).toMatch(/…\[100018 bytes, sha1 [0-9a-f]{8}\]$/);
    expect(out.length).toBeLessThan(FRAGMENT_MAX_CHARS + 50);
  });
});
