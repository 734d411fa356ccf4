import { describe, expect, it } from 'vitest';
import { jobIdFor, jobIdForPayloadId, jobIdForSequence, type ItemIdentity } from '../../../src/bridge/job-id.js';
import { identityOfJobId } from '../../helpers/job-id-inverse.js';

/** What BullMQ 6 checks in Job#validateOptions (custom ids). */
function bullmqAccepts(id: string): boolean {
  return id !== '' && `${parseInt(id, 10)}` !== id && !id.includes(':');
}

const identities: ItemIdentity[] = [
  { kind: 'number', value: 7 },
  { kind: 'string', value: '7' },
  { kind: 'string', value: 'a:b' },
  { kind: 'string', value: 'a%3Ab' },
  { kind: 'string', value: 'a%b' },
  { kind: 'string', value: '%s7' },
  { kind: 'string', value: '%n7' },
  { kind: 'string', value: '%g7' },
  { kind: 'string', value: '' },
  { kind: 'string', value: '%' },
  { kind: 'string', value: ':' },
  { kind: 'string', value: '::' },
  { kind: 'string', value: '-7' },
  { kind: 'string', value: '07' },
  { kind: 'string', value: '7:' },
  { kind: 'string', value: '7.5' },
  { kind: 'string', value: 'abc-123' },
  { kind: 'string', value: 'ação 💥' },
  { kind: 'number', value: -7 },
  { kind: 'number', value: 7.5 },
  { kind: 'number', value: 0 },
  { kind: 'number', value: 1e21 },
  { kind: 'string', value: 'conferencia-000007' },
  { kind: 'string', value: 'x-1234567' },
  { kind: 'string', value: 'x-12345' },
  { kind: 'generated', queue: 'conferencia', seq: '7' },
  { kind: 'generated', queue: 'emissao', seq: '7' },
  { kind: 'generated', queue: 'a-000001', seq: '7' },
  { kind: 'generated', queue: 'a:b', seq: '7' },
  { kind: 'generated', queue: 'conferencia', seq: '123456789012345678' },
];

describe('job ids', () => {
  it('keeps plain string ids readable', () => {
    expect(jobIdForPayloadId('abc-123')).toBe('abc-123');
    expect(jobIdForPayloadId('pedido 42')).toBe('pedido 42');
  });

  it('escapes what BullMQ refuses', () => {
    expect(jobIdForPayloadId('a:b')).toBe('a%3Ab');
    expect(jobIdForPayloadId('7')).toBe('%s7');
    expect(jobIdForPayloadId(7)).toBe('%n7');
    expect(jobIdForPayloadId('')).toBe('%s');
  });

  it('gives generated ids that are readable and unique across queues', () => {
    expect(jobIdForSequence('conferencia', 1)).toBe('conferencia-000001');
    expect(jobIdForSequence('emissao', 1)).toBe('emissao-000001');
    expect(jobIdForSequence('conferencia', '1234567')).toBe('conferencia-1234567');
    // A payload id shaped like a generated one is marked, so it never takes a generated job.
    expect(jobIdForPayloadId('conferencia-000001')).toBe('%sconferencia-000001');
    expect(jobIdForPayloadId('pedido-12345')).toBe('pedido-12345');
  });

  it('gives ids BullMQ accepts for every identity', () => {
    for (const identity of identities) expect(bullmqAccepts(jobIdFor(identity)), JSON.stringify(identity)).toBe(true);
  });

  it('keeps different identities apart (injective) and round-trips', () => {
    const seen = new Map<string, ItemIdentity>();
    for (const identity of identities) {
      const id = jobIdFor(identity);
      expect(seen.get(id), `${JSON.stringify(identity)} collides`).toBeUndefined();
      seen.set(id, identity);
      expect(identityOfJobId(id)).toEqual(identity);
    }
  });

  it('treats 7 and "7" as different, -0 and 0 as the same', () => {
    expect(jobIdForPayloadId(7)).not.toBe(jobIdForPayloadId('7'));
    expect(jobIdForPayloadId(-0)).toBe(jobIdForPayloadId(0));
  });

  it('round-trips random strings over a small alphabet', () => {
    const alphabet = ['%', ':', '3', 'A', '2', '5', 's', 'n', 'g', '7', '-', 'x'];
    const seen = new Map<string, string>();
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const length = next() % 6;
      let value = '';
      for (let j = 0; j < length; j++) value += alphabet[next() % alphabet.length];
      const id = jobIdForPayloadId(value);
      expect(bullmqAccepts(id)).toBe(true);
      expect(identityOfJobId(id)).toEqual({ kind: 'string', value });
      const before = seen.get(id);
      if (before !== undefined) expect(before).toBe(value);
      seen.set(id, value);
    }
  });

  it('refuses what cannot be an identity', () => {
    expect(() => jobIdForPayloadId(Number.NaN)).toThrow(RangeError);
    expect(() => jobIdForSequence('conferencia', '1a')).toThrow(RangeError);
  });

  it("never maps a string id onto one of BullMQ's own queue keys (it would be taken for an existing job)", () => {
    for (const name of ['meta', 'wait', 'id', 'events', 'stalled-check', 'marker', 'paused', 'repeat']) {
      const id = jobIdForPayloadId(name);
      expect(id).toBe(`%s${name}`);
      expect(identityOfJobId(id)).toEqual({ kind: 'string', value: name });
    }
    expect(jobIdForPayloadId('meta-1')).toBe('meta-1');
  });

  it('refuses ids that cannot be mapped: infinite numbers and unpaired surrogates', () => {
    expect(() => jobIdForPayloadId(JSON.parse('1e999') as number)).toThrow(RangeError);
    expect(() => jobIdForPayloadId('\ud800')).toThrow(RangeError);
    expect(() => jobIdForPayloadId('a\udc00b')).toThrow(RangeError);
    expect(jobIdForPayloadId('\ud83d\udca5')).toBe('\ud83d\udca5');
  });
});
