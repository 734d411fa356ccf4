import { describe, expect, it } from 'vitest';
import { lookupDocument } from '../../../src/demo/portal/documents.js';
import { newRunId, runIdPrefix, scenarioJobs } from '../../../src/demo/poller.js';
import { EMISSAO_TYPES } from '../../../src/flows/emissao.js';
import { requireDocumentNumber, requireOneOf } from '../../../src/flows/input.js';

describe('demo scenario', () => {
  it('is the seed scenario by default: 322 conferência then 3 emissão jobs, ids unique and of the run', () => {
    const jobs = scenarioJobs({ runId: 'r1' });
    expect(jobs.filter((j) => j.list === 'fila:conferencia')).toHaveLength(322);
    expect(jobs.filter((j) => j.list === 'fila:emissao')).toHaveLength(3);
    expect(jobs.slice(0, 322).every((j) => j.list === 'fila:conferencia')).toBe(true);
    const ids = jobs.map((j) => j.payload.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id.startsWith(runIdPrefix('r1')))).toBe(true);
    expect(ids[0]).toBe('demo-r1-conf-1');
    expect(ids.at(-1)).toBe('demo-r1-emis-3');
  });

  it('gives every job fields its flow accepts and documents the portal finds', () => {
    const jobs = scenarioJobs({ runId: 'r2', conferenciaCount: 500, emissaoCount: 10 });
    const documents = new Set<string>();
    for (const { list, payload } of jobs) {
      const data = payload as unknown as Record<string, unknown>;
      const flow = list === 'fila:conferencia' ? 'conferencia' : 'emissao';
      const documento = requireDocumentNumber(data, 'documento', flow);
      expect(lookupDocument(documento).kind).toBe('found');
      documents.add(documento);
      if (flow === 'emissao') {
        requireOneOf(data, 'tipo', Object.keys(EMISSAO_TYPES), flow);
      } else {
        expect(payload.tipo).toBeUndefined();
      }
    }
    expect(documents.size).toBe(jobs.length);
    // Both emission types are exercised.
    expect(new Set(jobs.filter((j) => j.payload.tipo).map((j) => j.payload.tipo)).size).toBe(2);
  });

  it('honours counts and list names, zero included', () => {
    const jobs = scenarioJobs({
      runId: 'r3',
      conferenciaCount: 0,
      emissaoCount: 2,
      conferenciaList: 'a',
      emissaoList: 'b',
    });
    expect(jobs.map((j) => j.list)).toEqual(['b', 'b']);
  });

  it('makes distinct run ids', () => {
    expect(newRunId(1000)).not.toBe(newRunId(1000));
    expect(newRunId()).toMatch(/^[0-9a-z]+-[0-9a-f]{4}$/);
  });
});
