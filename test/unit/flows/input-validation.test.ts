import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logging/logger.js';
import { PermanentJobError } from '../../../src/lib/errors.js';
import { conferenciaFlow } from '../../../src/flows/conferencia.js';
import { echoFlow } from '../../../src/flows/echo.js';
import { emissaoFlow } from '../../../src/flows/emissao.js';
import type { Flow, FlowContext, PortalCredentials } from '../../../src/flows/flow.js';
import { requireDocumentNumber, requireOneOf, requireText } from '../../../src/flows/input.js';
import { BUILTIN_FLOWS, flowForQueue } from '../../../src/flows/registry.js';

const logger = createLogger({ level: 'error', file: '', format: 'text', colors: false });
const portal: PortalCredentials = { url: 'http://127.0.0.1:9', user: 'demo', password: 'demo123' };

function ctx(data: Record<string, unknown>, overrides: Partial<FlowContext> = {}): FlowContext {
  return {
    page: null,
    data,
    portal,
    logger,
    signal: new AbortController().signal,
    artifactsDir: '/tmp',
    jobId: 'j1',
    ...overrides,
  };
}

async function permanentMessage(flow: Flow, context: FlowContext): Promise<string> {
  const error = await flow.run(context).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(PermanentJobError);
  return (error as Error).message;
}

describe('flow input validation', () => {
  it('conferencia: a missing, empty or malformed documento is permanent with a clear message', async () => {
    expect(await permanentMessage(conferenciaFlow, ctx({}))).toBe('conferencia: the payload has no "documento" field');
    expect(await permanentMessage(conferenciaFlow, ctx({ documento: '  ' }))).toBe('conferencia: "documento" is empty');
    expect(await permanentMessage(conferenciaFlow, ctx({ documento: '12a45' }))).toBe(
      'conferencia: "documento" must have 4 to 20 digits, got "12a45"',
    );
    expect(await permanentMessage(conferenciaFlow, ctx({ documento: { n: 1 } }))).toBe(
      'conferencia: "documento" must be a string, got object',
    );
    expect(await permanentMessage(conferenciaFlow, ctx({ documento: -5 }))).toContain('whole non-negative number');
  });

  it('emissao: tipo is required and must be a known type', async () => {
    expect(await permanentMessage(emissaoFlow, ctx({ documento: '12345' }))).toBe(
      'emissao: the payload has no "tipo" field',
    );
    expect(await permanentMessage(emissaoFlow, ctx({ documento: '12345', tipo: 'passaporte' }))).toBe(
      'emissao: "tipo" must be one of certidao, segunda-via, got "passaporte"',
    );
    expect(await permanentMessage(emissaoFlow, ctx({ tipo: 'certidao' }))).toBe(
      'emissao: the payload has no "documento" field',
    );
  });

  it('empty portal credentials are permanent, naming the settings to fix', async () => {
    for (const flow of [conferenciaFlow, emissaoFlow]) {
      const message = await permanentMessage(
        flow,
        ctx({ documento: '12345', tipo: 'certidao' }, { portal: { ...portal, password: '' } }),
      );
      expect(message).toBe(
        `${flow.name}: portal credentials are not configured (set RPA_USUARIO and RPA_SENHA / portal.user and portal.password)`,
      );
    }
    expect(
      await permanentMessage(conferenciaFlow, ctx({ documento: '12345' }, { portal: { ...portal, url: '' } })),
    ).toContain('portal URL is not configured');
  });

  it('accepts numbers as document numbers and trims text', () => {
    expect(requireDocumentNumber({ d: 123456 }, 'd', 'f')).toBe('123456');
    expect(requireText({ t: '  x ' }, 't', 'f')).toBe('x');
    expect(requireOneOf({ t: 'b' }, 't', ['a', 'b'], 'f')).toBe('b');
  });
});

describe('echo flow', () => {
  it('returns the payload, after sleepMs', async () => {
    const started = Date.now();
    const data = { id: 3, sleepMs: 30, x: [1] };
    await expect(echoFlow.run(ctx(data))).resolves.toEqual(data);
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
    expect(echoFlow.needsBrowser).toBe(false);
  });

  it('stops waiting when its signal aborts, with the abort reason', async () => {
    const controller = new AbortController();
    const running = echoFlow.run(ctx({ sleepMs: 60_000 }, { signal: controller.signal }));
    const reason = new Error('timed out');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });
});

describe('flow registry', () => {
  it('maps queues to the built-in flows and rejects unknown ones naming the key', () => {
    expect([...BUILTIN_FLOWS.keys()].sort()).toEqual(['conferencia', 'echo', 'emissao']);
    expect(flowForQueue({ name: 'extra', flow: 'echo' })).toBe(echoFlow);
    expect(() => flowForQueue({ name: 'extra', flow: 'nope' })).toThrow(
      'queues.extra.flow: unknown flow "nope" (known: conferencia, emissao, echo)',
    );
  });
});
