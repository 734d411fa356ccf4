import { describe, expect, it } from 'vitest';
import { classifyItem } from '../../../src/bridge/item.js';
import {
  BULL_PRIORITY,
  deadlineOf,
  parseIsoTime,
  parseSchedule,
  scheduleJobOptions,
} from '../../../src/lib/scheduling.js';

describe('scheduling fields', () => {
  it('maps every prioridade to a BullMQ priority, alta first, normal by default', () => {
    expect(BULL_PRIORITY.alta).toBeLessThan(BULL_PRIORITY.normal);
    expect(BULL_PRIORITY.normal).toBeLessThan(BULL_PRIORITY.baixa);
    expect(BULL_PRIORITY.alta).toBeGreaterThan(0);
    expect(scheduleJobOptions({ prioridade: 'normal' }, 0)).toEqual({ priority: BULL_PRIORITY.normal });
    expect(parseSchedule({})).toEqual({ prioridade: 'normal' });
    expect(parseSchedule({ prioridade: 'alta' })).toEqual({ prioridade: 'alta' });
  });

  it('turns executarApos into a delay only while it is in the future', () => {
    const at = Date.parse('2026-12-01T08:00:00-03:00');
    const schedule = parseSchedule({ executarApos: '2026-12-01T08:00:00-03:00', prioridade: 'baixa' });
    expect(schedule).toEqual({ prioridade: 'baixa', notBeforeMs: at });
    if ('field' in schedule) throw new Error('unexpected');
    expect(scheduleJobOptions(schedule, at - 5000)).toEqual({ priority: BULL_PRIORITY.baixa, delay: 5000 });
    expect(scheduleJobOptions(schedule, at + 1)).toEqual({ priority: BULL_PRIORITY.baixa });
  });

  it('names the field of a malformed value', () => {
    expect(parseSchedule({ prioridade: 'ALTA' })).toMatchObject({ field: 'prioridade' });
    expect(parseSchedule({ prioridade: null })).toMatchObject({ field: 'prioridade' });
    expect(parseSchedule({ executarApos: 1733050800000 })).toMatchObject({ field: 'executarApos' });
    expect(parseSchedule({ executarApos: '2026-12-01 08:00' })).toMatchObject({ field: 'executarApos' });
    expect(parseSchedule({ prazo: '2026-02-30T08:00:00Z' })).toMatchObject({ field: 'prazo' });
    expect(parseSchedule({ prazo: '2026-12-01T08:00:00' })).toMatchObject({
      field: 'prazo',
      detail: expect.stringContaining('fuso horário') as unknown,
    });
    expect(parseSchedule({ executarApos: '2026-12-01T08:00:00Z', prazo: '2026-12-01T07:00:00Z' })).toMatchObject({
      field: 'prazo',
    });
  });

  it('accepts ISO-8601 times with Z or an offset, with or without seconds and fractions', () => {
    expect(parseIsoTime('2026-12-01T08:00Z')).toBe(Date.UTC(2026, 11, 1, 8, 0));
    expect(parseIsoTime('2026-12-01T08:00:00.250-03:00')).toBe(Date.UTC(2026, 11, 1, 11, 0, 0, 250));
    expect(deadlineOf({ prazo: '2026-12-01T08:00:00Z' })).toBe(Date.UTC(2026, 11, 1, 8));
    expect(deadlineOf({ prazo: 'soon' })).toBeUndefined();
    expect(deadlineOf({})).toBeUndefined();
  });

  it('sends malformed fields to the invalid list with a reason naming the field', () => {
    const item = classifyItem(Buffer.from('{"id":"x","prazo":"ontem"}'), '1', 1_000_000, 'q');
    expect(item).toMatchObject({
      valid: false,
      reason: 'bad-prazo',
      detail: expect.stringMatching(/^prazo: /) as unknown,
    });
    const ok = classifyItem(Buffer.from('{"id":"x","prioridade":"alta"}'), '1', 1_000_000, 'q');
    expect(ok).toMatchObject({ valid: true, schedule: { prioridade: 'alta' } });
  });
});
