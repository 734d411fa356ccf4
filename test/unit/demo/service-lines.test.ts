import { describe, expect, it } from 'vitest';
import { isShownLine, parseServiceLine, WorkerPeaks, workerTotal } from '../../../src/demo/service-lines.js';
import {
  equilibriumLine,
  scaleDownLine,
  scaleUpLine,
  workerStartedLine,
  workerStoppedLine,
} from '../../../src/logging/scaling-lines.js';

const at = '[2026-01-01 10:00:00]';

describe('service log lines', () => {
  it('splits level and message, dropping the context fields', () => {
    const up = scaleUpLine('conferencia', 322, 2, 7);
    expect(parseServiceLine(`${at} info: ${up}  (component=scaler queue=conferencia)`)).toEqual({
      level: 'info',
      message: up,
    });
    expect(
      parseServiceLine(`${at} warn: Redis inacessível em 127.0.0.1:6379 (ECONNREFUSED); tentando de novo`),
    ).toEqual({
      level: 'warn',
      message: 'Redis inacessível em 127.0.0.1:6379 (ECONNREFUSED); tentando de novo',
    });
    expect(parseServiceLine(`\x1b[32m${at} info: serviço pronto\x1b[39m`).message).toBe('serviço pronto');
    expect(parseServiceLine('    at foo (bar.js:1:2)')).toEqual({
      level: undefined,
      message: '    at foo (bar.js:1:2)',
    });
  });

  it('shows scaling and worker lines and problems, not routine ones', () => {
    const shown = (message: string, level = 'info'): boolean => isShownLine({ level, message });
    expect(shown(scaleUpLine('conferencia', 322, 2, 7))).toBe(true);
    expect(shown(scaleDownLine('conferencia', 20, 7, 1))).toBe(true);
    expect(shown(workerStartedLine('Worker-emissao-1', 'emissao', 1))).toBe(true);
    expect(shown(workerStoppedLine('Worker-emissao-1', 'emissao', 0))).toBe(true);
    expect(shown(equilibriumLine('conferencia', 150, 7))).toBe(false);
    expect(shown('job done')).toBe(false);
    expect(shown('job failed', 'error')).toBe(true);
  });

  it('tracks the peak workers per queue from started and stopped lines', () => {
    expect(workerTotal(workerStartedLine('Worker-conferencia-3', 'conferencia', 3))).toEqual({
      queue: 'conferencia',
      total: 3,
    });
    expect(workerTotal(scaleUpLine('conferencia', 322, 2, 7))).toBeUndefined();
    const peaks = new WorkerPeaks();
    for (const n of [1, 2, 3]) peaks.see(workerStartedLine(`Worker-conferencia-${n}`, 'conferencia', n));
    peaks.see(workerStoppedLine('Worker-conferencia-3', 'conferencia', 2));
    peaks.see(workerStartedLine('Worker-emissao-1', 'emissao', 1));
    peaks.see(scaleUpLine('conferencia', 1000, 3, 20));
    expect(peaks.all()).toEqual({ conferencia: 3, emissao: 1 });
    expect(peaks.get('other')).toBe(0);
  });
});
