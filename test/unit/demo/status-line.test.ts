import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StatusLine } from '../../../src/demo/status-line.js';

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

describe('StatusLine', () => {
  it('rewrites one line on a terminal and keeps ordinary lines above it', async () => {
    const out = capture();
    const s = new StatusLine({ stream: out.stream, tty: true });
    s.status('1/3');
    s.status('2/3');
    s.line('[ESCALAR] x');
    s.endStatus();
    await new Promise((r) => setImmediate(r));
    expect(out.text()).toBe('\r\x1b[K1/3\r\x1b[K2/3\r\x1b[K[ESCALAR] x\n2/3\n');
  });

  it('prints a plain status line at most every few seconds without a terminal', async () => {
    const out = capture();
    let now = 0;
    const s = new StatusLine({ stream: out.stream, tty: false, plainEveryMs: 5000, clock: () => now });
    s.status('a');
    now = 1000;
    s.status('b');
    s.line('event');
    now = 5000;
    s.status('c');
    s.endStatus();
    await new Promise((r) => setImmediate(r));
    expect(out.text()).toBe('a\nevent\nc\n');
  });
});
