import { describe, expect, it } from 'vitest';
import {
  CLASSIFY_STEPS,
  classifyItem,
  invalidEntry,
  rawOfInvalidEntry,
  safeInvalidEntry,
} from '../../../src/bridge/item.js';
import { parseProcessingEntry } from '../../../src/bridge/lossless-list-moves.js';

const MAX = 1000;

describe('classifyItem', () => {
  it('takes payload ids and gives generated ids from the sequence', () => {
    expect(classifyItem(Buffer.from('{"id":"a:b","x":1}'), '5', MAX, 'conferencia')).toEqual({
      valid: true,
      payload: { id: 'a:b', x: 1 },
      jobId: 'a%3Ab',
      fromPayload: true,
      schedule: { prioridade: 'normal' },
    });
    expect(classifyItem(Buffer.from('{"x":1}'), '5', MAX, 'conferencia')).toMatchObject({
      valid: true,
      jobId: 'conferencia-000005',
      fromPayload: false,
    });
    expect(classifyItem(Buffer.from('{"id":7}'), '5', MAX, 'conferencia')).toMatchObject({ jobId: '%n7' });
  });

  it('names the reason of invalid items', () => {
    const reason = (text: string | Buffer): unknown => {
      const item = classifyItem(Buffer.isBuffer(text) ? text : Buffer.from(text), '1', MAX, 'conferencia');
      return item.valid ? 'valid' : item.reason;
    };
    expect(reason('nope')).toBe('not-json');
    expect(reason('[]')).toBe('not-object');
    expect(reason('"s"')).toBe('not-object');
    expect(reason('{"id":null}')).toBe('bad-id');
    expect(reason('{"id":false}')).toBe('bad-id');
    expect(reason('{"prioridade":"urgente"}')).toBe('bad-prioridade');
    expect(reason('{"executarApos":"amanhã"}')).toBe('bad-executarApos');
    expect(reason('{"prazo":"2026-13-01T08:00:00Z"}')).toBe('bad-prazo');
    expect(reason(Buffer.from([0x7b, 0x80, 0x7d]))).toBe('invalid-utf8');
    expect(reason(`{"a":"${'x'.repeat(MAX)}"}`)).toBe('too-large');
    expect(reason(`{"a":"${'x'.repeat(MAX - 8)}"}`)).toBe('valid');
  });
});

describe('classifyItem: every step up to the job is inside the classification', () => {
  it('sends an unmappable id, an unserializable payload and a throwing step to the invalid verdict instead of throwing', () => {
    expect(classifyItem(Buffer.from('{"id":1e999}'), '1', MAX, 'q')).toMatchObject({ valid: false, reason: 'bad-id' });
    expect(classifyItem(Buffer.from('{"id":"\\udfff"}'), '1', MAX, 'q')).toMatchObject({
      valid: false,
      reason: 'bad-id',
    });
    const deep = Buffer.from(`{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    expect(classifyItem(deep, '1', 1_048_576, 'q')).toMatchObject({ valid: false, reason: 'not-serializable' });
    const steps = [
      ...CLASSIFY_STEPS,
      {
        reason: 'rejected' as const,
        run: (): string => {
          throw new Error('boom');
        },
      },
    ];
    expect(classifyItem(Buffer.from('{"a":1}'), '1', MAX, 'q', steps)).toEqual({
      valid: false,
      reason: 'rejected',
      detail: 'boom',
    });
  });
});

describe('invalid entries', () => {
  it('round-trip the exact bytes, with base64 only for non-UTF-8', () => {
    for (const raw of [Buffer.from('\uFEFFplain ação'), Buffer.from([0xff, 0x00, 0xc3]), Buffer.alloc(0)]) {
      const entry = JSON.parse(invalidEntry(raw, 'not-json', 'd', 'q', new Date(0))) as {
        raw: string;
        rawBase64?: string;
      };
      expect(rawOfInvalidEntry(entry).equals(raw)).toBe(true);
    }
    expect(JSON.parse(invalidEntry(Buffer.from('ok'), 'not-json', 'd', 'q', new Date(0)))).toEqual({
      raw: 'ok',
      reason: 'not-json',
      detail: 'd',
      queue: 'q',
      at: '1970-01-01T00:00:00.000Z',
    });
  });
});

describe('parseProcessingEntry', () => {
  it('splits the sequence number from the raw bytes, which may contain the separator', () => {
    const entry = parseProcessingEntry(Buffer.from('42|{"a":"x|y"}'));
    expect(entry.seq).toBe('42');
    expect(entry.raw.toString()).toBe('{"a":"x|y"}');
    expect(parseProcessingEntry(Buffer.from('{"a":1}')).seq).toBeUndefined();
    expect(parseProcessingEntry(Buffer.from('|x')).seq).toBeUndefined();
  });
});

describe('parseProcessingEntry: oversized markers', () => {
  const sha = 'a'.repeat(40);
  it('reads a marker: length, hash, side-store field (or none) and the item’s first bytes', () => {
    const kept = parseProcessingEntry(Buffer.from(`7#104857600|${sha}|7-aaaaaaaaaaaa|\u0001\u0001|x`));
    expect(kept).toMatchObject({ seq: '7', oversized: { bytes: 104857600, sha1: sha, field: '7-aaaaaaaaaaaa' } });
    expect(kept.raw.toString()).toBe('\u0001\u0001|x');
    const dropped = parseProcessingEntry(Buffer.from(`8#5000000|${sha}||{"a"`));
    expect(dropped.oversized).toEqual({ bytes: 5000000, sha1: sha, field: undefined });
  });

  it('takes anything else shaped almost like a marker for a foreign entry, never for an oversized item', () => {
    for (const text of [`7#12|nothex|f|x`, `7#12x|${sha}|f|x`, `7#12|${sha}`, `#12|${sha}||x`]) {
      const entry = parseProcessingEntry(Buffer.from(text));
      expect(entry.oversized, text).toBeUndefined();
      expect(entry.seq, text).toBeUndefined();
    }
  });
});

describe('invalidEntry and safeInvalidEntry', () => {
  const at = new Date(0);
  it('adds truncated, bytes, sha1 and storedIn for an oversized item, keeping the contract’s fields', () => {
    const entry = JSON.parse(
      invalidEntry(Buffer.from('{"id":'), 'too-large', 'd', 'q', at, {
        bytes: 9,
        sha1: 'b'.repeat(40),
        storedIn: { key: 'fila:q:invalid:oversized', field: '3-bbbbbbbbbbbb' },
      }),
    ) as Record<string, unknown>;
    expect(entry).toEqual({
      raw: '{"id":',
      reason: 'too-large',
      detail: 'd',
      queue: 'q',
      at: at.toISOString(),
      truncated: true,
      bytes: 9,
      sha1: 'b'.repeat(40),
      storedIn: { key: 'fila:q:invalid:oversized', field: '3-bbbbbbbbbbbb' },
    });
  });

  it('falls back to the exact bytes in rawBase64 when the usual entry passes V8’s string limit', () => {
    // 100 MB of \u0001: 600 M characters as JSON, past V8's ~512 M limit.
    const raw = Buffer.alloc(100 * 1024 * 1024, 0x01);
    const { entry, lost } = safeInvalidEntry(raw, 'not-json', 'd', 'q', at);
    expect(lost).toBe(false);
    const parsed = JSON.parse(entry) as { raw: string; rawBase64: string };
    expect(parsed.raw.length).toBeLessThan(400);
    expect(rawOfInvalidEntry(parsed).equals(raw)).toBe(true);
  });
});
