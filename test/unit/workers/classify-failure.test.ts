import { describe, expect, it } from 'vitest';
import { BrowserCrashedError, JobTimeoutError, PermanentJobError } from '../../../src/lib/errors.js';
import { classifyFailure, type FailureFacts } from '../../../src/workers/classify-failure.js';

const calm: FailureFacts = { aborted: false, hadBrowser: true, browserLost: false };

describe('classifyFailure', () => {
  it('gives the abort reason when the attempt was aborted, whatever the flow threw', () => {
    const timeout = new JobTimeoutError(8000);
    const error = classifyFailure(new Error('Target page, context or browser has been closed'), {
      ...calm,
      aborted: true,
      abortReason: timeout,
      browserLost: true,
    });
    expect(error).toBe(timeout);
  });

  it('turns a non-Error abort reason into an Error', () => {
    const error = classifyFailure(new Error('x'), { ...calm, aborted: true, abortReason: 'job cancelled' });
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('job cancelled');
  });

  it('keeps the flow’s PermanentJobError and BrowserCrashedError as they are', () => {
    const permanent = new PermanentJobError('documento inválido');
    expect(classifyFailure(permanent, { ...calm, browserLost: true })).toBe(permanent);
    const crashed = new BrowserCrashedError('gone');
    expect(classifyFailure(crashed, calm)).toBe(crashed);
  });

  it('names a failure a browser crash when the browser went away during the attempt', () => {
    const error = classifyFailure(new Error('page.click: something odd'), { ...calm, browserLost: true });
    expect(error).toBeInstanceOf(BrowserCrashedError);
    expect(error.message).toBe('the browser crashed or disconnected during the job: page.click: something odd');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it.each([
    'page.goto: Target page, context or browser has been closed',
    'Target closed',
    'Target crashed',
    'Browser has been closed.',
    'browser has disconnected',
  ])('recognises Playwright’s "%s" as a browser crash', (message) => {
    expect(classifyFailure(new Error(message), calm)).toBeInstanceOf(BrowserCrashedError);
  });

  it('leaves other errors alone, and never blames a browser the flow did not have', () => {
    const plain = new Error('portal answered 500');
    expect(classifyFailure(plain, calm)).toBe(plain);
    const noBrowser = new Error('Target closed');
    expect(classifyFailure(noBrowser, { aborted: false, hadBrowser: false, browserLost: false })).toBe(noBrowser);
  });

  it('turns a thrown non-Error into an Error', () => {
    const error = classifyFailure('boom', calm);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('boom');
  });
});
