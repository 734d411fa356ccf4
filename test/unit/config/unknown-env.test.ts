import { describe, expect, it } from 'vitest';
import { levenshtein, schemaEnvNames, unknownEnvWarnings } from '../../../src/config/unknown-env.js';

describe('unknown environment variables', () => {
  it('finds every variable of the schema', () => {
    const names = schemaEnvNames();
    for (const n of ['REDIS_DB', 'HTTP_PORT', 'SCALER_JOBS_PER_WORKER', 'RPA_SENHA', 'BOARD_PASSWORD', 'LOG_FORMAT']) {
      expect(names).toContain(n);
    }
  });

  it('warns once about a misspelled variable of ours, naming the closest real one', () => {
    expect(unknownEnvWarnings({ SCALER_JOBS_PER_WORKR: '2' })).toEqual([
      'variável de ambiente SCALER_JOBS_PER_WORKR não corresponde a nenhuma configuração e foi ignorada; quis dizer SCALER_JOBS_PER_WORKER?',
    ]);
    expect(unknownEnvWarnings({ REDIS_PROT: '1', BOARD_USR: 'x' })).toEqual([
      expect.stringMatching(/^variável de ambiente BOARD_USR .* quis dizer BOARD_USER\?$/),
      expect.stringMatching(/^variável de ambiente REDIS_PROT .* quis dizer REDIS_PORT\?$/),
    ]);
  });

  it('leaves real settings, variables read elsewhere and other prefixes alone', () => {
    expect(
      unknownEnvWarnings({
        SCALER_JOBS_PER_WORKER: '2',
        REDIS_DB: '1',
        PORTAL_PORT: '8080',
        HTTP_PROXY: 'http://proxy',
        NODE_OPTIONS: '--max-old-space-size=100',
        DEMO_HTTP_PORT: '3000',
        PATH: '/usr/bin',
      }),
    ).toEqual([]);
  });

  it('measures edit distance', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('abc', 'abc')).toBe(0);
  });
});
