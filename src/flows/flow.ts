import type { Page } from 'playwright';
import type { Logger } from '../logging/logger.js';

/** Portal address and credentials a flow logs in with (from config `portal.*`). */
export interface PortalCredentials {
  readonly url: string;
  readonly user: string;
  readonly password: string;
}

/** What a flow gets for one job. */
export interface FlowContext {
  /** The worker's page, kept across jobs (the portal session survives); `null` for flows with `needsBrowser: false`. */
  readonly page: Page | null;
  /** The job's payload, as the poller pushed it. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly portal: PortalCredentials;
  /** Child logger with queue, worker and jobId fields. */
  readonly logger: Logger;
  /** Aborted when the job times out or the service is forced to stop. */
  readonly signal: AbortSignal;
  /** Folder where the flow may save files (receipts); created by the caller. */
  readonly artifactsDir: string;
  /**
   * The BullMQ job id as a file-name stem: made safe for file names and ending with a hash of the
   * whole id, so files named after two different jobs never collide.
   */
  readonly jobId: string;
}

/** A unit of RPA work bound to a queue through config (`queues.<name>.flow`). */
export interface Flow {
  readonly name: string;
  /** False for flows (echo) that run without Chromium: their worker launches none. */
  readonly needsBrowser: boolean;
  /**
   * Runs the job; returns a JSON-serialisable result. Throws `PermanentJobError` for business
   * failures (no retry); any other error fails the attempt and BullMQ retries it with backoff.
   */
  run(ctx: FlowContext): Promise<unknown>;
}
