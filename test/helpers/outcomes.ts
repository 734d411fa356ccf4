import { OutcomeWindow } from '../../src/shared/outcome-window.js';
import type { ServiceEvents } from '../../src/shared/events.js';

/** A started window over `events`, as the service wires one for HTTP and alerts. */
export function outcomeWindowFor(events: ServiceEvents, clock?: () => number): OutcomeWindow {
  const window = new OutcomeWindow({ events, keepMs: 3_600_000, ...(clock ? { clock } : {}) });
  window.start();
  return window;
}
