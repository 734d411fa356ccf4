import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright';
import winston from 'winston';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emissaoFlow, type EmissaoResult } from '../../../src/flows/emissao.js';
import { safeFileName } from '../../../src/lib/file-name.js';
import { requiredChromiumArgs, resolveExecutablePath } from '../../../src/workers/browser-launch.js';

/** A portal whose confirmation page shows a protocol number that is a path out of the folder. */
function hostilePortal(protocol: string): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (url.pathname === '/emissao') {
      res.end(`<!doctype html><h1>Emissão de documentos</h1>
<form action="/emitir" method="get">
<label>Número do documento <input name="d"></label>
<label>Tipo de documento <select name="t"><option>Certidão negativa</option></select></label>
<button>Emitir</button></form>`);
    } else if (url.pathname === '/emitir') {
      res.end(`<!doctype html><dl><dt>Protocolo</dt><dd aria-label="Número do protocolo">${protocol}</dd></dl>
<p><a href="/comprovante" download>Baixar comprovante</a></p>`);
    } else if (url.pathname === '/comprovante') {
      res.setHeader('content-type', 'text/plain');
      res.setHeader('content-disposition', 'attachment; filename="c.txt"');
      res.end('comprovante');
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
}

describe('emissao flow: file names from page content', () => {
  let browser: Browser;
  let server: http.Server;
  let root: string;
  const escapeName = `fuga-${randomUUID()}`;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'emissao-hostile-'));
    server = hostilePortal(`../../../${escapeName}/../../${escapeName}`);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const executablePath = resolveExecutablePath('');
    browser = await chromium.launch({
      ...(executablePath ? { executablePath } : {}),
      args: [...new Set(['--no-sandbox', ...requiredChromiumArgs()])],
    });
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await fs.rm(root, { recursive: true, force: true });
  });

  it('keeps the receipt inside the artifacts folder when the page shows a protocol number that is a path', async () => {
    const artifactsDir = path.join(root, 'a', 'b', 'c', 'artifacts');
    const page = await browser.newPage();
    const { port } = server.address() as AddressInfo;
    const result = (await emissaoFlow.run({
      page,
      data: { documento: '12345678', tipo: 'certidao' },
      portal: { url: `http://127.0.0.1:${port}`, user: 'u', password: 'p' },
      logger: winston.createLogger({ silent: true }),
      signal: new AbortController().signal,
      artifactsDir,
      jobId: '../job',
    })) as EmissaoResult;
    await page.close();

    expect(result.protocolo).toContain('../');
    expect(path.dirname(result.comprovante)).toBe(artifactsDir);
    expect(await fs.readFile(result.comprovante, 'utf8')).toBe('comprovante');
    expect(await fs.readdir(artifactsDir)).toEqual([path.basename(result.comprovante)]);
    // Nothing was written anywhere else under the temp root.
    const everything = await fs.readdir(root, { recursive: true });
    const inside = path.join('a', 'b', 'c', 'artifacts');
    expect(everything.filter((f) => f.includes(escapeName) && !f.startsWith(`${inside}${path.sep}`))).toEqual([]);
  });

  it('safeFileName keeps names plain, never hidden or empty, and long names distinct', () => {
    expect(safeFileName('../../etc/passwd')).toBe('___.._etc_passwd');
    expect(safeFileName('..')).toBe('__');
    expect(safeFileName('')).toBe('_');
    expect(safeFileName('a\\b\0c/ação.txt')).toBe('a_b_c_a__o.txt');
    const a = safeFileName(`${'x'.repeat(300)}a.txt`);
    const b = safeFileName(`${'x'.repeat(300)}b.txt`);
    expect(a.length).toBeLessThanOrEqual(120);
    expect(a).not.toBe(b);
    expect(a.endsWith('.txt')).toBe(true);
  });
});
