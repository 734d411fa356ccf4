/** What the scaler did to a queue's worker count. */
export type ScaleAction = 'up' | 'down' | 'hold';

/** One scaling decision as kept in Redis (the history the dashboard draws). */
export interface DecisionRecord {
  /** ms since epoch. */
  readonly at: number;
  readonly queue: string;
  readonly pending: number;
  readonly current: number;
  readonly desired: number;
  readonly target: number;
  readonly action: ScaleAction;
  readonly reason: string;
}
