import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, flushLogger } from '../../../src/logging/logger.js';
import { scaleUpLine } from '../../../src/logging/scaling-lines.js';
import { waitFor } from '../../helpers/wait.js';

const dirs: string[] = [];
function tempLogFile(format: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-'));
  dirs.push(dir);
  return path.join(dir, 'nested', 'folder', `main_rpa.${format}.log`);
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('createLogger', () => {
  it('writes readable text lines to the file, creating its folder, message first', async () => {
    const file = tempLogFile('text');
    const logger = createLogger({ level: 'info', file, format: 'text', colors: false, console: false });
    logger.info(scaleUpLine('conferencia', 322, 2, 7), { queue: 'conferencia' });
    logger.debug('not at info level');
    await flushLogger(logger);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] info: \[ESCALAR\] conferencia: 322 jobs → criando 5 worker\(s\) \(total: 2 → 7\) {2}\(queue=conferencia\)$/,
    );
  });

  it('writes one JSON object per line with LOG_FORMAT=json', async () => {
    const file = tempLogFile('json');
    const logger = createLogger({ level: 'debug', file, format: 'json', colors: false, console: false });
    logger.info('first', { queue: 'emissao' });
    logger.warn('second');
    await flushLogger(logger);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ level: 'info', message: 'first', queue: 'emissao' });
    expect(typeof parsed[1]?.timestamp).toBe('string');
  });

  it('masks sensitive-looking fields in metadata', async () => {
    const file = tempLogFile('redact');
    const logger = createLogger({ level: 'info', file, format: 'json', colors: false, console: false });
    logger.info('login', { user: 'joao', password: 'segredo-1', senha: 'segredo-2' });
    await flushLogger(logger);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('segredo');
    expect(JSON.parse(text.trim())).toMatchObject({ user: 'joao', password: '***', senha: '***' });
  });

  it('escapes control characters in text lines: an item cannot forge a line or move the cursor', async () => {
    const file = tempLogFile('forged');
    const logger = createLogger({ level: 'info', file, format: 'text', colors: false, console: false });
    const item = '{"id": "x\n[ESCALAR] forged: 999 jobs\r\u001b[2K\u001b[1A\u009b2J\u2028[REDUZIR] forged"}';
    logger.warn(`item inválido (not-json: ${item}) movido para fila:x:invalid`, { queue: 'x', raw: item });
    logger.info('depois', { nested: { text: 'a\nb\u0085c' } });
    await flushLogger(logger);
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (warn|info): /);
    // eslint-disable-next-line no-control-regex -- no raw control character but the line ends
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(lines[0]).toContain('"x\\n[ESCALAR] forged: 999 jobs\\r\\x1b[2K\\x1b[1A\\x9b2J\\u2028[REDUZIR] forged"');
    expect(lines[0]).toContain('raw={"id": "x\\n[ESCALAR] forged');
    expect(lines[1]).toContain('nested={"text":"a\\nb\\x85c"}');
  });

  it('keeps JSON lines one line each, the same values, with no raw control character', async () => {
    const file = tempLogFile('json-forged');
    const logger = createLogger({ level: 'info', file, format: 'json', colors: false, console: false });
    const item = 'x\n[ESCALAR] forged\u001b[2J\u009b2J\u2028\u202e';
    logger.warn(`item inválido: ${item}`, { raw: item });
    await flushLogger(logger);
    const text = fs.readFileSync(file, 'utf8');
    // eslint-disable-next-line no-control-regex -- no raw control character but the line ends
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ message: `item inválido: ${item}`, raw: item });
  });

  it('rotates the file at its size bound, keeping maxFiles numbered files', async () => {
    const file = tempLogFile('rotated');
    const dir = path.dirname(file);
    const logger = createLogger({
      level: 'info',
      file,
      format: 'text',
      colors: false,
      console: false,
      maxSizeMb: 2 / 1024, // 2 KiB
      maxFiles: 3,
    });
    // Lines come a few at a time, as a service logs (winston rotates between writes: a single
    // burst may overshoot the bound by its own size before the rotation).
    for (let i = 0; i < 200; i++) {
      logger.info(`linha ${String(i).padStart(4, '0')} ${'x'.repeat(80)}`);
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await flushLogger(logger);
    const names = ['main_rpa.rotated.log', 'main_rpa.rotated1.log', 'main_rpa.rotated2.log'];
    await waitFor(() => fs.readFileSync(file, 'utf8').includes('linha 0199'), { what: 'the last line' });
    expect(fs.readdirSync(dir).sort()).toEqual(names);
    const sizes = names.map((name) => fs.statSync(path.join(dir, name)).size);
    // At most the bound plus the few lines written while the rotation ran.
    for (const size of sizes) expect(size).toBeLessThanOrEqual(2048 + 5 * 120);
    expect(sizes[1]).toBeGreaterThanOrEqual(2048);
    // tailable: the newest lines are in the file named by log.file, older ones in higher numbers.
    const firstLine = (name: string) => Number(/linha (\d+)/.exec(fs.readFileSync(path.join(dir, name), 'utf8'))?.[1]);
    expect(firstLine(names[2] ?? '')).toBeLessThan(firstLine(names[1] ?? ''));
    expect(firstLine(names[1] ?? '')).toBeLessThan(firstLine(names[0] ?? ''));
  });

  it('says on stderr when the log file cannot be written', async () => {
    const file = tempLogFile('unwritable');
    fs.mkdirSync(file, { recursive: true }); // a folder where the file should be
    const errors: string[] = [];
    const errorStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        errors.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', file, format: 'text', colors: false, console: false, errorStream });
    logger.info('perdida');
    logger.info('perdida também');
    await waitFor(() => errors.length > 0, { what: 'a line on stderr' });
    logger.info('e mais uma');
    logger.close(); // a file that never opened never flushes: nothing to wait for
    expect(errors).toHaveLength(1); // once a minute at most
    expect(errors[0]).toMatch(new RegExp(`^\\[LOG\\] não foi possível escrever no arquivo de log ${file}: .*EISDIR`));
  });
});
