import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runItems } from '../../../src/items/commands.js';
import { waitFor } from '../../helpers/wait.js';
import { captureIo, SchedulingWorld } from './fixture.js';

let world: SchedulingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('items CLI (real Redis, echo flow)', () => {
  it('round trip: invalid → edited → requeued with its id → result; asks first, changes nothing on "no"', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start();
    const config = w.config;
    if (!config) throw new Error('no config');
    const invalidKey = `${w.source}:invalid`;
    await w.push({ id: 'doc-7', valor: 10, prazo: '30/11/2026 08:00' }, { id: 'doc-8', prioridade: 'urgente' });
    await waitFor(async () => (await w.redis.llen(invalidKey)) === 2, { what: '2 invalid items' });

    const listed = captureIo(true);
    expect(await runItems(['list', 'conferencia'], { config, io: listed.io })).toBe(0);
    expect(listed.out[0]).toMatch(/^#1 \[bad-prazo\] .*prazo: .*doc-7/);
    expect(listed.out[1]).toMatch(/^#2 \[bad-prioridade\] /);
    expect(listed.out.at(-1)).toBe(`2 item(ns) em ${invalidKey}`);

    const counted = captureIo(true);
    expect(await runItems(['count', 'conferencia'], { config, io: counted.io })).toBe(0);
    expect(counted.out).toEqual([`${invalidKey}: 2 (bad-prazo: 1, bad-prioridade: 1)`]);

    // Without the edit, the item would be invalid again: it stays where it is.
    const unedited = captureIo(true);
    expect(await runItems(['requeue', 'conferencia', '1'], { config, io: unedited.io })).toBe(1);
    expect(unedited.err[0]).toMatch(/^#1: continua inválido \(bad-prazo/);
    expect(unedited.asked).toEqual([]);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'items-'));
    const patchFile = path.join(dir, 'patch.json');
    const prazo = new Date(Date.now() + 3_600_000).toISOString();
    fs.writeFileSync(patchFile, JSON.stringify({ prazo }));
    try {
      const declined = captureIo(false);
      expect(await runItems(['requeue', 'conferencia', '1', '--patch', patchFile], { config, io: declined.io })).toBe(
        1,
      );
      expect(declined.out[0]).toBe(`Vou recolocar 1 item(ns) de ${invalidKey} no fim de ${w.source}:`);
      expect(declined.asked).toHaveLength(1);
      expect(declined.out.at(-1)).toBe('nada alterado');
      expect(await w.redis.llen(invalidKey)).toBe(2);

      const accepted = captureIo(true);
      expect(await runItems(['requeue', 'conferencia', '1', '--patch', patchFile], { config, io: accepted.io })).toBe(
        0,
      );
      expect(accepted.out.at(-1)).toBe(`1 item(ns) recolocado(s) em ${w.source}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const [entry] = await w.waitForEntries(1);
    expect(entry).toMatchObject({ id: 'doc-7', status: 'ok', result: { id: 'doc-7', valor: 10, prazo } });

    // A filter command edits the other one; --yes skips the question.
    const filtered = captureIo(false);
    expect(
      await runItems(['requeue', 'conferencia', '--all', '--filter', `sed 's/urgente/alta/'`, '--yes'], {
        config,
        io: filtered.io,
      }),
    ).toBe(0);
    expect(filtered.asked).toEqual([]);
    const entries = await w.waitForEntries(2);
    expect(entries[1]).toMatchObject({ id: 'doc-8', status: 'ok', result: { prioridade: 'alta' } });
    expect(await w.redis.llen(invalidKey)).toBe(0);

    // Requeueing an item whose id still names a kept job would make a duplicate: refused.
    await w.push({ id: 'doc-7', prazo: 'depois' });
    await waitFor(async () => (await w.redis.llen(invalidKey)) === 1, { what: 'the invalid copy of doc-7' });
    fs.mkdirSync(path.join(os.tmpdir(), w.u), { recursive: true });
    const nullPatch = path.join(os.tmpdir(), w.u, 'p.json');
    fs.writeFileSync(nullPatch, '{"prazo": null}');
    try {
      const dup2 = captureIo(true);
      expect(await runItems(['requeue', 'conferencia', '1', '--patch', nullPatch], { config, io: dup2.io })).toBe(1);
      expect(dup2.err[0]).toMatch(/^#1: o job "doc-7" ainda existe \(estado completed\)/);

      const dropped = captureIo(true);
      expect(await runItems(['drop', 'conferencia', '--all'], { config, io: dropped.io })).toBe(0);
      expect(dropped.out[0]).toBe(`Vou APAGAR 1 item(ns) de ${invalidKey} (não há como desfazer):`);
      expect(dropped.asked).toHaveLength(1);
      expect(await w.redis.llen(invalidKey)).toBe(0);
    } finally {
      fs.rmSync(path.join(os.tmpdir(), w.u), { recursive: true, force: true });
    }
  });

  it('refuses to requeue an id whose whole job is gone but is still within the duplicate window', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start({ jobs: { keepCompletedSeconds: 600, keepCompletedJobSeconds: 1 } });
    const config = w.config;
    if (!config) throw new Error('no config');
    await w.push({ id: 'doc-9' });
    await w.waitForEntries(1);
    // BullMQ drops a lapsed whole job when a later job completes.
    let fillers = 0;
    await waitFor(
      async () => {
        if ((await w.redis.exists(`${w.u}:conferencia:doc-9`)) === 0) return true;
        await w.push({ filler: fillers++ });
        return false;
      },
      { intervalMs: 500, what: 'whole job doc-9 dropped' },
    );
    const invalidKey = `${w.source}:invalid`;
    await w.push({ id: 'doc-9', prazo: 'depois' });
    await waitFor(async () => (await w.redis.llen(invalidKey)) === 1, { what: 'the invalid copy of doc-9' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'items-'));
    const nullPatch = path.join(dir, 'p.json');
    fs.writeFileSync(nullPatch, '{"prazo": null}');
    try {
      const refused = captureIo(true);
      expect(await runItems(['requeue', 'conferencia', '1', '--patch', nullPatch], { config, io: refused.io })).toBe(1);
      expect(refused.err[0]).toMatch(/^#1: o job "doc-9" ainda existe \(estado completed, só o id guardado\)/);
      expect(await w.redis.llen(invalidKey)).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const shown = captureIo(true);
    expect(await runItems(['history', 'conferencia', 'doc-9'], { config, io: shown.io })).toBe(1);
    expect(shown.err[0]).toMatch(/^job doc-9: concluído; o job inteiro já foi removido/);
  });

  it('shows control characters of an item escaped: ESC sequences cannot rewrite the preview before the prompt', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start();
    const config = w.config;
    if (!config) throw new Error('no config');
    const invalidKey = `${w.source}:invalid`;
    // Clears the screen, moves the cursor home and forges a harmless-looking line.
    const hostile = '\u001b[2J\u001b[H\r\nnada a recolocar\u009b2K\u2028';
    await w.redis.rpush(w.source, JSON.stringify({ id: 'esc-1', prazo: hostile }), `not json ${hostile}`);
    await waitFor(async () => (await w.redis.llen(invalidKey)) === 2, { what: '2 invalid items' });

    const rawControl = /[\u0000-\u001f\u007f-\u009f\u2028]/; // eslint-disable-line no-control-regex
    const listed = captureIo(true);
    expect(await runItems(['list', 'conferencia'], { config, io: listed.io })).toBe(0);
    const shown = captureIo(true);
    expect(await runItems(['show', 'conferencia', '2'], { config, io: shown.io })).toBe(0);
    const dropping = captureIo(false);
    expect(await runItems(['drop', 'conferencia', '--all'], { config, io: dropping.io })).toBe(1);
    expect(dropping.asked).toHaveLength(1);
    const lines = [...listed.out, ...shown.out, ...dropping.out, ...listed.err, ...shown.err, ...dropping.err];
    for (const line of lines) expect(line).not.toMatch(rawControl);
    expect(listed.out[0]).toMatch(/^#1 \[bad-prazo\] /);
    expect(listed.out[1]).toMatch(/^#2 \[not-json\] .*not json \\x1b\[2J\\x1b\[H/);
    expect(shown.out[1]).toBe('not json \\x1b[2J\\x1b[H\\r\\nnada a recolocar\\x9b2K\\u2028');
    expect(dropping.out[0]).toBe(`Vou APAGAR 2 item(ns) de ${invalidKey} (não há como desfazer):`);
    expect(await w.redis.llen(invalidKey)).toBe(2);
  });

  it('retries a failed job by id and shows its history', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start({ emissao: { timeoutSeconds: 1, attempts: 1 } });
    const config = w.config;
    if (!config) throw new Error('no config');
    await w.redis.rpush(w.emissaoSource, JSON.stringify({ id: 'slow-1', sleepMs: 5000 }));
    const [first] = await w.waitForEntries(1);
    expect(first).toMatchObject({ id: 'slow-1', status: 'error' });

    const shown = captureIo(true);
    expect(await runItems(['history', 'emissao', 'slow-1'], { config, io: shown.io })).toBe(0);
    expect(shown.out[0]).toBe('job slow-1 (fila emissao), estado: failed');
    expect(shown.out.some((l) => /^ {2}tentativas: 1 de 1$/.test(l))).toBe(true);
    expect(shown.out.some((l) => /^ {2}erro 1: .*1000 ?ms/.test(l))).toBe(true);

    const retried = captureIo(true);
    expect(await runItems(['retry', 'emissao', 'slow-1'], { config, io: retried.io })).toBe(0);
    expect(retried.out[0]).toBe('Vou tentar de novo 1 job(s) falho(s) da fila emissao (mesma prioridade e id):');
    expect(retried.asked).toHaveLength(1);
    const entries = await w.waitForEntries(2);
    expect(entries[1]).toMatchObject({ id: 'slow-1', status: 'error' });
  });
});
