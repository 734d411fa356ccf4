import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertMonitor } from '../../../src/alerts/alert-monitor.js';
import { LocalAlertLedger } from '../../../src/alerts/alert-ledger.js';
import { postAlert, type AlertPayload } from '../../../src/alerts/webhook.js';
import type { AlertRule, AppConfig } from '../../../src/config/types.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { FakeStatusSource, queueStatus } from '../../helpers/fake-status.js';
import { EventPoolHistory } from '../../helpers/pool-history.js';
import { waitFor } from '../../helpers/wait.js';
import { webhookReceiver } from '../../helpers/webhook-receiver.js';

function alertsConfig(rules: AlertRule[], overrides: Partial<AppConfig['alerts']> = {}): AppConfig['alerts'] {
  return { webhookUrl: '', cooldownSeconds: 300, evaluateSeconds: 30, rules, ...overrides };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const QUEUES = ['conferencia', 'emissao', 'q'];

function monitorWith(
  config: AppConfig['alerts'],
  status: FakeStatusSource,
  start = 1_000_000,
  extra: Partial<ConstructorParameters<typeof AlertMonitor>[0]> = {},
) {
  let now = start;
  const events = new ServiceEvents();
  const { logger, lines } = captureLogger();
  const clock = (): number => now;
  const history = new EventPoolHistory(events, QUEUES, clock);
  const monitor = new AlertMonitor({ config, status, history, logger, clock, ...extra });
  cleanups.push(() => monitor.close());
  return {
    monitor,
    events,
    history,
    lines,
    advance(ms: number) {
      now += ms;
    },
    alertLines: () => lines.filter((l) => l.message.startsWith('[ALERTA]')),
  };
}

describe('AlertMonitor', () => {
  it('posts a breached rule to the webhook once, then keeps quiet for the cooldown', async () => {
    const hook = await webhookReceiver<AlertPayload>();
    cleanups.push(() => hook.close());
    const status = new FakeStatusSource([queueStatus('conferencia', { workers: 12 }), queueStatus('emissao')]);
    const rule: AlertRule = {
      name: 'muitos-workers',
      kind: 'workersAbove',
      queue: 'conferencia',
      threshold: 10,
      forSeconds: 0,
    };
    const t = monitorWith(alertsConfig([rule], { webhookUrl: hook.url, cooldownSeconds: 60 }), status);

    await t.monitor.evaluate();
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]).toEqual({
      rule: 'muitos-workers',
      kind: 'workersAbove',
      queue: 'conferencia',
      value: 12,
      threshold: 10,
      message: expect.stringContaining('conferencia: 12 worker(s)') as unknown,
      at: new Date(1_000_000).toISOString(),
    });
    expect(t.alertLines()).toHaveLength(1);
    expect(t.alertLines()[0]?.level).toBe('warn');
    expect(t.alertLines()[0]?.message).toMatch(/^\[ALERTA\] muitos-workers: conferencia: 12 worker\(s\)/);

    // Still breached, inside the cooldown: nothing new.
    t.advance(30_000);
    await t.monitor.evaluate();
    t.advance(29_000);
    await t.monitor.evaluate();
    expect(hook.bodies).toHaveLength(1);
    expect(t.alertLines()).toHaveLength(1);

    // Cooldown over, still breached: fires again.
    t.advance(1_000);
    await t.monitor.evaluate();
    expect(hook.bodies).toHaveLength(2);
    expect(hook.bodies[1]?.at).toBe(new Date(1_060_000).toISOString());
  });

  it('does not fire while the value is at or below the threshold', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia', { workers: 10 })]);
    const rule: AlertRule = { name: 'w', kind: 'workersAbove', queue: '', threshold: 10, forSeconds: 0 };
    const t = monitorWith(alertsConfig([rule]), status);
    expect(await t.monitor.evaluate()).toEqual([]);
    status.queues = [queueStatus('conferencia', { workers: 6 }), queueStatus('emissao', { workers: 5 })];
    // '' sums all queues: 11 > 10.
    expect((await t.monitor.evaluate()).map((a) => a.value)).toEqual([11]);
  });

  it('fires backlogAbove only after the backlog lasted forSeconds without a break', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia', { pending: 500 })]);
    const rule: AlertRule = {
      name: 'backlog',
      kind: 'backlogAbove',
      queue: 'conferencia',
      threshold: 300,
      forSeconds: 120,
    };
    const t = monitorWith(alertsConfig([rule], { cooldownSeconds: 0 }), status);

    expect(await t.monitor.evaluate()).toEqual([]);
    t.advance(60_000);
    expect(await t.monitor.evaluate()).toEqual([]);
    // A dip below the threshold restarts the count.
    status.queues = [queueStatus('conferencia', { pending: 100 })];
    t.advance(30_000);
    expect(await t.monitor.evaluate()).toEqual([]);
    status.queues = [queueStatus('conferencia', { pending: 400 })];
    t.advance(30_000);
    expect(await t.monitor.evaluate()).toEqual([]);
    t.advance(119_000);
    expect(await t.monitor.evaluate()).toEqual([]);
    t.advance(1_000);
    const fired = await t.monitor.evaluate();
    expect(fired.map((a) => [a.rule, a.value])).toEqual([['backlog', 400]]);
    expect(fired[0]?.message).toContain('há 120s');
  });

  it('computes the failure ratio over the forSeconds window of job-finished events', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia')]);
    const rule: AlertRule = {
      name: 'falhas',
      kind: 'failureRatioAbove',
      queue: 'conferencia',
      threshold: 0.5,
      forSeconds: 60,
    };
    const t = monitorWith(alertsConfig([rule], { cooldownSeconds: 0 }), status);
    const finish = (outcome: 'ok' | 'error' | 'retry', queue = 'conferencia') =>
      t.events.emit('job-finished', { queue, worker: 'Worker-conferencia-1', outcome, durationMs: 10 });

    expect(await t.monitor.evaluate()).toEqual([]); // no attempts: no ratio
    finish('error');
    finish('retry');
    t.advance(61_000); // those two leave the window
    finish('ok');
    finish('error');
    finish('error', 'emissao'); // other queue: not counted
    expect(await t.monitor.evaluate()).toEqual([]); // 1/2 = 0.5, not above
    finish('retry');
    const fired = await t.monitor.evaluate();
    expect(fired).toHaveLength(1);
    expect(fired[0]?.value).toBeCloseTo(2 / 3);
    expect(fired[0]?.message).toContain('(2/3 tentativas)');
  });

  it('logs and carries on when the webhook fails or the status is unavailable', async () => {
    const hook = await webhookReceiver<AlertPayload>(500);
    cleanups.push(() => hook.close());
    const status = new FakeStatusSource([queueStatus('conferencia', { workers: 3 })]);
    const rules: AlertRule[] = [
      { name: 'w', kind: 'workersAbove', queue: 'conferencia', threshold: 1, forSeconds: 0 },
      { name: 'typo', kind: 'workersAbove', queue: 'conferenca', threshold: 1, forSeconds: 0 },
    ];
    const t = monitorWith(alertsConfig(rules, { webhookUrl: hook.url }), status);
    expect((await t.monitor.evaluate()).map((a) => a.rule)).toEqual(['w']);
    expect(hook.bodies).toHaveLength(1);
    expect(t.lines.some((l) => l.level === 'warn' && l.message.includes('respondeu 500'))).toBe(true);
    expect(t.lines.some((l) => l.message.includes("fila 'conferenca' não existe"))).toBe(true);

    status.fail = new Error('Connection is closed.');
    t.advance(3_600_000);
    await expect(t.monitor.evaluate()).resolves.toEqual([]);
    expect(t.lines.some((l) => l.message.includes('status indisponível'))).toBe(true);
  });

  it('survives a webhook that does not answer (timeout) and one that refuses connections', async () => {
    const silent = http.createServer(() => undefined); // never responds
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const status = new FakeStatusSource([queueStatus('q', { workers: 5 })]);
    const rule: AlertRule = { name: 'w', kind: 'workersAbove', queue: '', threshold: 1, forSeconds: 0 };
    const events = new ServiceEvents();
    const { logger, lines } = captureLogger();
    const monitor = new AlertMonitor({
      config: alertsConfig([rule], { webhookUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/` }),
      status,
      history: new EventPoolHistory(events, QUEUES),
      logger,
      webhookTimeoutMs: 200,
    });
    cleanups.push(() => monitor.close());
    expect(await monitor.evaluate()).toHaveLength(1);
    expect(lines.some((l) => l.message.startsWith('webhook de alerta falhou'))).toBe(true);
  });

  it('restarts the cooldown when the clock jumps backwards instead of going silent for the jump', async () => {
    const status = new FakeStatusSource([queueStatus('q', { workers: 5 })]);
    const rule: AlertRule = { name: 'w', kind: 'workersAbove', queue: 'q', threshold: 1, forSeconds: 0 };
    const t = monitorWith(alertsConfig([rule], { cooldownSeconds: 60 }), status, 10_000_000);
    expect(await t.monitor.evaluate()).toHaveLength(1);
    t.advance(-3_600_000); // an hour back
    expect(await t.monitor.evaluate()).toHaveLength(0);
    t.advance(59_000);
    expect(await t.monitor.evaluate()).toHaveLength(0);
    t.advance(1_000);
    expect(await t.monitor.evaluate()).toHaveLength(1);
  });

  it('start() evaluates on its interval; close() is idempotent and stops it', async () => {
    const status = new FakeStatusSource([queueStatus('q', { workers: 5 })]);
    const rule: AlertRule = { name: 'w', kind: 'workersAbove', queue: 'q', threshold: 1, forSeconds: 0 };
    const events = new ServiceEvents();
    const { logger } = captureLogger();
    const monitor = new AlertMonitor({
      config: { ...alertsConfig([rule]), evaluateSeconds: 0.05 },
      status,
      history: new EventPoolHistory(events, QUEUES),
      logger,
    });
    monitor.start();
    monitor.start();
    await waitFor(() => status.statusCalls >= 2, { what: 'two timed evaluations' });
    await Promise.all([monitor.close(), monitor.close()]);
    const calls = status.statusCalls;
    // Absence cannot be waited on: give the 50 ms timer several periods to misbehave.
    await new Promise((r) => setTimeout(r, 300));
    expect(status.statusCalls).toBe(calls);
  });

  it('fires bridgeStuckAbove when a bridge has been stuck longer than the threshold', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia'), queueStatus('emissao')]);
    const rule: AlertRule = { name: 'ponte', kind: 'bridgeStuckAbove', queue: '', threshold: 120, forSeconds: 0 };
    const t = monitorWith(alertsConfig([rule]), status);
    expect(await t.monitor.evaluate()).toEqual([]);
    // The pool's worst bridge (any instance's), from the history.
    t.history.stuck = { conferencia: 60 };
    expect(await t.monitor.evaluate()).toEqual([]);
    t.history.stuck = { conferencia: 180, emissao: 30 };
    const fired = await t.monitor.evaluate();
    expect(fired).toMatchObject([{ rule: 'ponte', kind: 'bridgeStuckAbove', value: 180 }]);
    expect(t.alertLines()[0]?.message).toContain('ponte da fila conferencia parada há 180s');
  });
});

describe('AlertMonitor: an invalid list nearing its bound', () => {
  it('fires invalidListFillAbove before the oldest entries are dropped, naming the fullest list', async () => {
    const list = (items: number, bytes: number) => ({
      invalidList: {
        items,
        bytes,
        maxItems: 10_000,
        maxBytes: 1_000_000,
        fill: Math.max(items / 10_000, bytes / 1_000_000),
      },
    });
    const status = new FakeStatusSource([queueStatus('conferencia', list(100, 1000)), queueStatus('emissao')]);
    const rule: AlertRule = {
      name: 'invalidos',
      kind: 'invalidListFillAbove',
      queue: '',
      threshold: 0.8,
      forSeconds: 0,
    };
    const t = monitorWith(alertsConfig([rule]), status);
    expect(await t.monitor.evaluate()).toEqual([]);
    // Bytes, not entries, bring emissao's list to 85% of its bound.
    status.queues = [queueStatus('conferencia', list(7000, 1000)), queueStatus('emissao', list(50, 850_000))];
    const fired = await t.monitor.evaluate();
    expect(fired).toMatchObject([{ rule: 'invalidos', kind: 'invalidListFillAbove', value: 0.85 }]);
    expect(t.alertLines()[0]?.message).toContain('lista de inválidos da fila emissao em 85% do limite');
  });
});

describe('AlertMonitor: one report per pool', () => {
  it('evaluates nothing while another instance reports, and takes over with the shared ledger', async () => {
    const status = new FakeStatusSource([queueStatus('q', { workers: 5 })]);
    const rule: AlertRule = { name: 'w', kind: 'workersAbove', queue: 'q', threshold: 1, forSeconds: 0 };
    const ledger = new LocalAlertLedger();
    let aReports = true;
    const a = monitorWith(alertsConfig([rule], { cooldownSeconds: 60 }), status, 1_000_000, {
      ledger,
      reporter: () => aReports,
    });
    const b = monitorWith(alertsConfig([rule], { cooldownSeconds: 60 }), status, 1_000_000, {
      ledger,
      reporter: () => !aReports,
    });
    expect(await a.monitor.evaluate()).toHaveLength(1);
    const calls = status.statusCalls;
    expect(await b.monitor.evaluate()).toEqual([]);
    expect(status.statusCalls).toBe(calls); // not the reporter: reads nothing
    // b takes over inside the cooldown a started: silent until it ends.
    aReports = false;
    b.advance(30_000);
    expect(await b.monitor.evaluate()).toEqual([]);
    b.advance(30_000);
    expect(await b.monitor.evaluate()).toHaveLength(1);
    expect(a.alertLines().length + b.alertLines().length).toBe(2);
  });

  it('keeps a sustained breach running across a change of reporter', async () => {
    const status = new FakeStatusSource([queueStatus('q', { pending: 500 })]);
    const rule: AlertRule = { name: 'backlog', kind: 'backlogAbove', queue: 'q', threshold: 300, forSeconds: 120 };
    const ledger = new LocalAlertLedger();
    const a = monitorWith(alertsConfig([rule]), status, 1_000_000, { ledger });
    const b = monitorWith(alertsConfig([rule]), status, 1_000_000, { ledger });
    expect(await a.monitor.evaluate()).toEqual([]);
    b.advance(120_000);
    const fired = await b.monitor.evaluate();
    expect(fired.map((f) => f.rule)).toEqual(['backlog']);
    expect(fired[0]?.message).toContain('há 120s');
  });
});

describe('AlertMonitor: a poller that keeps pushing bad items', () => {
  it('fires invalidAbove when more items than the threshold went to the invalid list in the window', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia')]);
    const rule: AlertRule = {
      name: 'itens-invalidos',
      kind: 'invalidAbove',
      queue: 'conferencia',
      threshold: 2,
      forSeconds: 300,
    };
    const t = monitorWith(alertsConfig([rule]), status);
    t.events.emit('invalid', { queue: 'conferencia', reason: 'bad-id' });
    t.events.emit('invalid', { queue: 'emissao', reason: 'not-json' });
    t.events.emit('invalid', { queue: 'conferencia', reason: 'bad-id' });
    expect(await t.monitor.evaluate()).toEqual([]);
    t.events.emit('invalid', { queue: 'conferencia', reason: 'bad-id' });
    expect(await t.monitor.evaluate()).toMatchObject([{ rule: 'itens-invalidos', kind: 'invalidAbove', value: 3 }]);
    expect(t.alertLines()[0]?.message).toContain('3 item(ns) enviado(s) à lista de inválidos nos últimos 300s');
    // Outside the window they no longer count.
    t.advance(301_000 + 300_000);
    expect(await t.monitor.evaluate()).toEqual([]);
  });
});

describe('postAlert: webhook secrets', () => {
  /** A receiver that records the request line and headers, answering `status` (and `location`). */
  async function recorder(status: number, location?: string) {
    const seen: { url: string; authorization: string | undefined }[] = [];
    const server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => {
        res.statusCode = status;
        if (location) res.setHeader('location', location);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { port: (server.address() as AddressInfo).port, seen };
  }
  const payload: AlertPayload = {
    rule: 'r',
    kind: 'workersAbove',
    queue: '',
    value: 1,
    threshold: 0,
    message: 'm',
    at: new Date(0).toISOString(),
  };

  it('sends URL credentials as basic auth, keeps the token in the request, and never logs either', async () => {
    const hook = await recorder(200);
    const { logger, lines } = captureLogger();
    const url = `http://alert%40ops:p%C3%A1ss-123@127.0.0.1:${hook.port}/hook?token=tok-secret-456`;
    expect(await postAlert({ url, payload, logger })).toBe(true);
    expect(hook.seen).toEqual([
      {
        url: '/hook?token=tok-secret-456',
        authorization: `Basic ${Buffer.from('alert@ops:páss-123').toString('base64')}`,
      },
    ]);

    const refused = `http://alert:pass-123@127.0.0.1:1/hook?token=tok-secret-456`;
    expect(await postAlert({ url: refused, payload, logger, timeoutMs: 2000 })).toBe(false);
    const failing = await recorder(500);
    const on500 = `http://alert:pass-123@127.0.0.1:${failing.port}/hook?token=tok-secret-456`;
    expect(await postAlert({ url: on500, payload, logger })).toBe(false);
    const text = JSON.stringify(lines);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    for (const secret of ['pass-123', 'tok-secret-456', 'alert:']) expect(text).not.toContain(secret);
    expect(text).toContain(`"webhook":"http://127.0.0.1:${failing.port}"`);
  });

  it('logs a webhook whose secret is in its path (Slack, Teams, Discord) as scheme://host only', async () => {
    const failing = await recorder(500);
    const { logger, lines } = captureLogger();
    const slackLike = `http://127.0.0.1:${failing.port}/services/T0000/B0000/XyzSecretPath123`;
    expect(await postAlert({ url: slackLike, payload, logger })).toBe(false);
    expect(failing.seen.map((s) => s.url)).toEqual(['/services/T0000/B0000/XyzSecretPath123']);
    const refused = 'http://127.0.0.1:1/services/T0000/B0000/XyzSecretPath123';
    expect(await postAlert({ url: refused, payload, logger, timeoutMs: 2000 })).toBe(false);
    expect(lines.map((l) => l.meta.webhook)).toEqual([`http://127.0.0.1:${failing.port}`, 'http://127.0.0.1:1']);
    expect(JSON.stringify(lines)).not.toContain('XyzSecretPath123');
  });

  it('does not follow a redirect (the alert and its credentials stay with the configured host)', async () => {
    const elsewhere = await recorder(200);
    const redirecting = await recorder(307, `http://127.0.0.1:${elsewhere.port}/stolen`);
    const { logger, lines } = captureLogger();
    const url = `http://u:p-secret@127.0.0.1:${redirecting.port}/hook`;
    expect(await postAlert({ url, payload, logger })).toBe(false);
    expect(redirecting.seen).toHaveLength(1);
    expect(elsewhere.seen).toEqual([]);
    expect(lines.some((l) => l.message.includes('respondeu 307'))).toBe(true);
  });
});
