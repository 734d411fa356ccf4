import { describe, expect, it } from 'vitest';
import { JobTimeoutError, PermanentJobError } from '../../../src/lib/errors.js';
import { buildResultEntry, resultIdFor } from '../../../src/workers/result-entry.js';

const base = {
  jobId: 'job-7',
  queue: 'conferencia',
  worker: 'Worker-conferencia-2',
  startedAtMs: Date.UTC(2025, 0, 2, 3, 4, 5, 600),
  finishedAtMs: Date.UTC(2025, 0, 2, 3, 4, 7, 100),
};

describe('buildResultEntry', () => {
  it('builds the contract entry for a success', () => {
    const entry = buildResultEntry({
      ...base,
      data: { id: 'abc', documento: '1' },
      attempts: 2,
      outcome: { status: 'ok', result: { situacao: 'REGULAR' } },
    });
    expect(entry).toEqual({
      id: 'abc',
      queue: 'conferencia',
      status: 'ok',
      result: { situacao: 'REGULAR' },
      error: null,
      attempts: 2,
      startedAt: '2025-01-02T03:04:05.600Z',
      finishedAt: '2025-01-02T03:04:07.100Z',
      durationMs: 1500,
      worker: 'Worker-conferencia-2',
    });
    expect(Object.keys(entry)).toEqual([
      'id',
      'queue',
      'status',
      'result',
      'error',
      'attempts',
      'startedAt',
      'finishedAt',
      'durationMs',
      'worker',
    ]);
  });

  it('builds an error entry with artifacts and a null result', () => {
    const entry = buildResultEntry({
      ...base,
      data: { id: 42 },
      attempts: 1,
      outcome: {
        status: 'error',
        error: new PermanentJobError('Documento 4041 não encontrado.'),
        permanent: true,
        artifacts: { screenshot: 'artifacts/conferencia/job-7-attempt1.png', url: 'http://portal/conferencia' },
      },
    });
    expect(entry).toMatchObject({
      id: 42,
      status: 'error',
      result: null,
      attempts: 1,
      error: {
        name: 'PermanentJobError',
        message: 'Documento 4041 não encontrado.',
        permanent: true,
        artifacts: { screenshot: 'artifacts/conferencia/job-7-attempt1.png', url: 'http://portal/conferencia' },
      },
    });
  });

  it('omits artifacts when there are none, keeps retryable errors non-permanent', () => {
    const entry = buildResultEntry({
      ...base,
      data: {},
      attempts: 3,
      outcome: { status: 'error', error: new JobTimeoutError(5000), permanent: false },
    });
    expect(entry.error).toEqual({
      name: 'JobTimeoutError',
      message: 'job exceeded its timeout of 5000 ms',
      permanent: false,
    });
    expect(entry.id).toBe('job-7');
  });

  it('turns an undefined result into null so the entry is valid JSON', () => {
    const entry = buildResultEntry({ ...base, data: {}, attempts: 1, outcome: { status: 'ok', result: undefined } });
    expect(JSON.parse(JSON.stringify(entry))).toHaveProperty('result', null);
  });
});

describe('resultIdFor', () => {
  it('uses the payload id as given (string or number), else the job id', () => {
    expect(resultIdFor({ id: 'x-1' }, 'j')).toBe('x-1');
    expect(resultIdFor({ id: 0 }, 'j')).toBe(0);
    expect(resultIdFor({ id: 17 }, 'j')).toBe(17);
    expect(resultIdFor({ id: '' }, 'j')).toBe('j');
    expect(resultIdFor({ id: null }, 'j')).toBe('j');
    expect(resultIdFor({ id: { nested: 1 } }, 'j')).toBe('j');
    expect(resultIdFor({ id: Number.NaN }, 'j')).toBe('j');
    expect(resultIdFor({}, 'j')).toBe('j');
  });
});
