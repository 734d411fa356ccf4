import { sleep } from '../lib/sleep.js';
import type { Flow, FlowContext } from './flow.js';

/** No browser: the result is the payload; a numeric `sleepMs` makes it wait that long first (abortably). */
export const echoFlow: Flow = {
  name: 'echo',
  needsBrowser: false,
  async run(ctx: FlowContext): Promise<unknown> {
    const sleepMs = ctx.data.sleepMs;
    if (typeof sleepMs === 'number' && Number.isFinite(sleepMs) && sleepMs > 0) {
      await sleep(sleepMs, ctx.signal);
      ctx.signal.throwIfAborted();
    }
    return ctx.data;
  },
};
