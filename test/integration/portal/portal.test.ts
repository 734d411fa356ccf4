import { afterEach, describe, expect, it } from 'vitest';
import { lookupDocument } from '../../../src/demo/portal/documents.js';
import { startPortal, type PortalHandle } from '../../../src/demo/portal/server.js';

let portal: PortalHandle | undefined;

afterEach(async () => {
  await portal?.close();
  portal = undefined;
});

async function login(url: string, senha = 'demo123'): Promise<{ status: number; cookie: string }> {
  const response = await fetch(`${url}/login`, {
    method: 'POST',
    body: new URLSearchParams({ usuario: 'demo', senha, next: '/conferencia' }),
    redirect: 'manual',
  });
  return { status: response.status, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

describe('demo portal', () => {
  it('derives document statuses deterministically; 404… is not found', () => {
    const a = lookupDocument('12345');
    expect(a).toEqual(lookupDocument('12345'));
    expect(a).toMatchObject({
      kind: 'found',
      record: { number: '12345', status: 'CANCELADO', updatedOn: '2024-10-27' },
    });
    expect(lookupDocument('4041234')).toEqual({ kind: 'not-found' });
    expect(lookupDocument('12')).toEqual({ kind: 'invalid' });
  });

  it('asks for a login, shows the status table, and expires sessions after their lifetime', async () => {
    let now = 1_000_000;
    portal = await startPortal({ sessionLifetimeMs: 60_000, clock: () => now });
    const anonymous = await fetch(`${portal.url}/conferencia`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fconferencia');

    expect((await login(portal.url, 'wrong')).status).toBe(401);
    const { status, cookie } = await login(portal.url);
    expect(status).toBe(303);
    const page = await fetch(`${portal.url}/conferencia?documento=12345`, { headers: { cookie } });
    const html = await page.text();
    expect(html).toContain('<caption>Resultado da consulta</caption>');
    expect(html).toContain('<td>CANCELADO</td>');
    const missing = await fetch(`${portal.url}/conferencia?documento=4049999`, { headers: { cookie } });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('data-kind="not-found"');

    now += 60_001;
    const expired = await fetch(`${portal.url}/conferencia`, { headers: { cookie }, redirect: 'manual' });
    expect(expired.status).toBe(303);
    expect(expired.headers.get('location')).toContain('expired=1');
    expect(portal.stats).toMatchObject({ logins: 1, failedLogins: 1 });
  });

  it('fails exactly the forced number of requests, and follows the error rate', async () => {
    const rolls = [0.9, 0.1];
    portal = await startPortal({ errorRate: 0.5, random: () => rolls.shift() ?? 0.9 });
    expect((await fetch(`${portal.url}/login`)).status).toBe(200); // roll 0.9
    expect((await fetch(`${portal.url}/login`)).status).toBe(500); // roll 0.1
    portal.setErrorRate(0);
    portal.failNext(2, '/login');
    expect((await fetch(`${portal.url}/conferencia`, { redirect: 'manual' })).status).toBe(303);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${portal.url}/login`)).status);
    expect(statuses).toEqual([500, 500, 200]);
    expect(portal.pendingForcedFailures()).toBe(0);
    expect(portal.stats.serverErrors).toBe(3);
  });

  it('issues a protocol and a downloadable receipt', async () => {
    portal = await startPortal();
    const { cookie } = await login(portal.url);
    const done = await fetch(`${portal.url}/emissao`, {
      method: 'POST',
      headers: { cookie },
      body: new URLSearchParams({ documento: '5550001', tipo: 'certidao' }),
    });
    const protocol = /PRT-\d{8}/.exec(await done.text())?.[0];
    expect(protocol).toBeDefined();
    const receipt = await fetch(`${portal.url}/emissao/comprovante/${protocol}`, { headers: { cookie } });
    expect(receipt.headers.get('content-disposition')).toContain('attachment');
    expect(await receipt.text()).toContain(`Protocolo: ${protocol}`);
  });
});

describe('demo portal concurrency limit (PORTAL_MAX_CONCURRENT)', () => {
  it('serves at most K requests at once, latency included; the others wait their turn, none is lost', async () => {
    portal = await startPortal({ latencyMs: 150, maxConcurrent: 2 });
    const { cookie } = await login(portal.url);
    const statuses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(`${portal?.url ?? ''}/conferencia?documento=1234${i}`, { headers: { cookie } }).then((r) => r.status),
      ),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(portal.stats.peakConcurrent).toBe(2);
    expect(portal.stats.waitedForSlot).toBeGreaterThanOrEqual(4);
    // Lifted: all at once again.
    portal.setMaxConcurrent(0);
    await Promise.all(
      Array.from({ length: 4 }, () => fetch(`${portal?.url ?? ''}/conferencia`, { headers: { cookie } })),
    );
    expect(portal.stats.peakConcurrent).toBe(4);
  });

  it('a waiting request is dropped cleanly when the portal closes', async () => {
    portal = await startPortal({ latencyMs: 5_000, maxConcurrent: 1 });
    const first = fetch(`${portal.url}/login`).catch(() => undefined);
    const second = fetch(`${portal.url}/login`).catch(() => undefined);
    await waitForSlotWaiters(portal);
    await portal.close();
    await Promise.all([first, second]);
  });
});

async function waitForSlotWaiters(p: PortalHandle): Promise<void> {
  for (let i = 0; i < 200 && p.stats.waitedForSlot < 1; i++) await new Promise((r) => setTimeout(r, 10));
  expect(p.stats.waitedForSlot).toBe(1);
}
