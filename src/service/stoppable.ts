/** Longest wait for one component (but the workers) to stop. */
export const STEP_TIMEOUT_MS = 10_000;

/** A started component and how to stop it; the service stops them in reverse start order. */
export interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Where each wiring function records a part the moment it has started (not when the function
 * returns), so a start failing halfway still stops everything started before it.
 */
export type StartedParts = Pick<Stoppable[], 'push'>;
