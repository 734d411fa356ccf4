import { describe, expect, it } from 'vitest';
import {
  CapsInEffect,
  capsDifferences,
  capsFields,
  capsFromFields,
  type PoolCaps,
} from '../../../src/cluster/pool-caps.js';

const caps = (total: number, conferencia: number, emissao: number): PoolCaps => ({
  maxTotalWorkers: total,
  maxWorkers: { conferencia, emissao },
});

describe('pool caps as stored in Redis', () => {
  it('round-trips through the HASH fields', () => {
    const fields = capsFields(caps(20, 10, 3));
    expect(fields).toEqual(['maxTotalWorkers', '20', 'maxWorkers:conferencia', '10', 'maxWorkers:emissao', '3']);
    expect(capsFromFields(fields, ['conferencia', 'emissao'], caps(1, 1, 1))).toEqual({
      caps: caps(20, 10, 3),
      invalid: [],
    });
  });

  it('names a missing or malformed field and keeps the fallback for it', () => {
    const read = capsFromFields(
      ['maxTotalWorkers', '12.5', 'maxWorkers:conferencia', '4', 'maxWorkers:emissao', '-1'],
      ['conferencia', 'emissao', 'extra'],
      { maxTotalWorkers: 20, maxWorkers: { conferencia: 10, emissao: 10, extra: 2 } },
    );
    expect(read.invalid).toEqual(['maxTotalWorkers', 'maxWorkers:emissao', 'maxWorkers:extra']);
    expect(read.caps).toEqual({ maxTotalWorkers: 20, maxWorkers: { conferencia: 4, emissao: 10, extra: 2 } });
  });

  it('lists the differences, total first, then queues by name', () => {
    expect(capsDifferences(caps(30, 10, 5), caps(20, 12, 5))).toEqual([
      { field: 'maxTotalWorkers', own: 30, stored: 20 },
      { field: 'maxWorkers:conferencia', own: 10, stored: 12 },
    ]);
    expect(capsDifferences(caps(20, 10, 3), caps(20, 10, 3))).toEqual([]);
  });
});

describe('the caps in effect', () => {
  it('are the configuration’s until the first take, then the stored ones; reports what changed', () => {
    const effect = new CapsInEffect(caps(30, 10, 5), ['conferencia', 'emissao']);
    expect(effect.current).toEqual(caps(30, 10, 5));
    expect(effect.take(capsFields(caps(20, 10, 5)))).toEqual({
      first: true,
      differences: [{ field: 'maxTotalWorkers', own: 30, stored: 20 }],
      invalid: [],
    });
    expect(effect.current).toEqual(caps(20, 10, 5));
    // Unchanged at the next beats; an operator's change is reported against the caps in effect.
    expect(effect.take(capsFields(caps(20, 10, 5))).differences).toEqual([]);
    const changed = effect.take(['maxTotalWorkers', '25', 'maxWorkers:conferencia', 'x', 'maxWorkers:emissao', '5']);
    expect(changed).toEqual({
      first: false,
      differences: [{ field: 'maxTotalWorkers', own: 20, stored: 25 }],
      invalid: ['maxWorkers:conferencia'],
    });
    expect(effect.current).toEqual(caps(25, 10, 5));
  });
});
