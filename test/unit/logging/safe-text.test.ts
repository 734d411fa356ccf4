import { describe, expect, it } from 'vitest';
import { escapeControl, escapeJsonControl } from '../../../src/lib/control-chars.js';
import { safeUrl, scrubUrlSecrets } from '../../../src/lib/safe-url.js';

describe('escapeControl', () => {
  it('writes every control character as an escape and leaves the rest alone', () => {
    expect(escapeControl('a\nb\r\tc\u0000\u001b[31m\u007f\u0085\u009b\u2028\u202e ação \\n')).toBe(
      'a\\nb\\r\\tc\\x00\\x1b[31m\\x7f\\x85\\x9b\\u2028\\u202e ação \\n',
    );
  });
  it('keeps JSON the same value on one safe line', () => {
    const value = { s: 'x\u0085\u2028\u202ey\n' };
    const json = escapeJsonControl(JSON.stringify(value));
    expect(json).not.toMatch(/[\u007f-\u009f\u2028\u202e\n]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('webhook URLs in logs', () => {
  const slack = 'https://user:pw-secret@hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX?token=tok-123#f';
  it('are shown as scheme://host only', () => {
    expect(safeUrl(slack)).toBe('https://hooks.slack.com');
    expect(safeUrl('http://127.0.0.1:8080/x')).toBe('http://127.0.0.1:8080');
    expect(safeUrl('not a url')).toBe('(invalid url)');
    expect(safeUrl('')).toBe('');
  });
  it('are scrubbed of their path, query and credentials from error texts', () => {
    const text = `request to ${slack} failed; path /services/T0001/B0002/XXXXsecretXXXX; XXXXsecretXXXX; tok-123; pw-secret`;
    const scrubbed = scrubUrlSecrets(text, slack);
    for (const secret of ['XXXXsecretXXXX', 'tok-123', 'pw-secret']) expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain('request to *** failed');
  });
});
