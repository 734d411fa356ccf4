import { describe, expect, it } from 'vitest';
import { buildResultEntry } from '../../../src/workers/result-entry.js';
import { stalledEntryInput, stalledRun } from '../../../src/workers/stalled-entry.js';

const failedAt = Date.UTC(2026, 11, 1, 8, 0, 0);

describe('the entry of a job failed for stalling', () => {
  it('is a permanent JobTravado error with the payload id, the attempts that ran and the failing worker', () => {
    const entry = buildResultEntry(
      stalledEntryInput(
        'conferencia',
        'doc-1',
        {
          data: JSON.stringify({ id: 'doc-1', cnpj: '1' }),
          finishedOn: String(failedAt),
          processedBy: 'Worker-conferencia-4',
          attemptsStarted: '4',
          stalledCount: '3',
          timestamp: '1000',
          attemptsMade: '3',
        },
        2,
      ),
    );
    expect(entry).toEqual({
      id: 'doc-1',
      queue: 'conferencia',
      status: 'error',
      result: null,
      error: {
        name: 'JobTravado',
        message: expect.stringMatching(/travou 3 vez\(es\).*limite é 2/) as unknown,
        permanent: true,
      },
      attempts: 3,
      startedAt: '2026-12-01T08:00:00.000Z',
      finishedAt: '2026-12-01T08:00:00.000Z',
      durationMs: 0,
      worker: 'Worker-conferencia-4',
    });
  });

  it('falls back to the job id for a payload without id, or one that does not parse', () => {
    const fields = {
      finishedOn: String(failedAt),
      processedBy: null,
      attemptsStarted: null,
      stalledCount: null,
      timestamp: null,
      attemptsMade: null,
    };
    expect(buildResultEntry(stalledEntryInput('q', 'q-000007', { ...fields, data: '{"v":1}' }, 2)).id).toBe('q-000007');
    const broken = buildResultEntry(stalledEntryInput('q', 'q-000008', { ...fields, data: 'not json' }, 2));
    expect(broken).toMatchObject({ id: 'q-000008', attempts: 0, worker: '' });
    expect(broken.error?.message).toMatch(/travou 3 vez/);
  });
});

describe('the run a stall-failed job belonged to', () => {
  it("is the run before BullMQ counted the failing take, so a unit's entry for it is found", () => {
    const base = { data: null, finishedOn: null, processedBy: null, attemptsStarted: '4', stalledCount: '3' };
    expect(stalledRun({ ...base, timestamp: '1700000000000', attemptsMade: '1' })).toEqual({
      createdAtMs: 1700000000000,
      attemptsMade: 0,
    });
    expect(stalledRun({ ...base, timestamp: null, attemptsMade: null })).toEqual({ createdAtMs: 0, attemptsMade: 0 });
  });
});
