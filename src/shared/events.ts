import { EventEmitter } from 'node:events';

/** What happened in the service, for metrics and alerts (the HTTP module listens). */
export interface ServiceEventMap {
  /**
   * A job attempt ended: `retry` when it will be tried again; `expired` when the job was not run
   * because its deadline (`prazo`) had passed.
   */
  'job-finished': [
    info: { queue: string; worker: string; outcome: 'ok' | 'error' | 'retry' | 'expired'; durationMs: number },
  ];
  /** The scaler changed a queue's worker count (`hold` is not emitted). */
  scaled: [info: { queue: string; action: 'up' | 'down'; from: number; to: number; pending: number }];
  /** The bridge turned `count` items into jobs. */
  bridged: [info: { queue: string; count: number }];
  invalid: [info: { queue: string; reason: string }];
  duplicate: [info: { queue: string; id: string | number }];
  /** The oldest `count` entries of a queue's invalid list were dropped to keep it within its bounds. */
  'invalid-dropped': [info: { queue: string; count: number }];
  /** An oversized item's bytes were dropped (its side store was full); its invalid entry stays. */
  'oversized-dropped': [info: { queue: string }];
  /** A unit's browser was relaunched; `reason` is one of RESTART_REASONS, `detail` what was logged. */
  'browser-restart': [info: { queue: string; worker: string; reason: string; detail: string }];
  /** A unit's browser process tree was measured between jobs (PSS); `pssBytes` null once it closed. */
  'browser-memory': [info: { queue: string; worker: string; pssBytes: number | null }];
}

/** The in-process event bus: components emit, observers (metrics, alerts) listen. */
export class ServiceEvents extends EventEmitter<ServiceEventMap> {}
