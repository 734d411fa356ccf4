import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, flushLogger } from '../../../src/logging/logger.js';
import { scaleUpLine } from '../../../src/logging/scaling-lines.js';

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
});
