/** The worker unit's life cycle: `starting → ready ⇄ busy → draining → closed`. */
export type UnitState = 'starting' | 'ready' | 'busy' | 'draining' | 'closed';

/** Allowed moves. `draining` is entered from any live state (retire or close during start or a job). */
export const UNIT_TRANSITIONS: Readonly<Record<UnitState, readonly UnitState[]>> = {
  starting: ['ready', 'draining', 'closed'],
  ready: ['busy', 'draining', 'closed'],
  busy: ['ready', 'draining', 'closed'],
  draining: ['closed'],
  closed: [],
};

export function canTransition(from: UnitState, to: UnitState): boolean {
  return UNIT_TRANSITIONS[from].includes(to);
}

/** Throws on a move the life cycle does not allow: a bug, never a runtime condition. */
export function assertTransition(unit: string, from: UnitState, to: UnitState): void {
  if (!canTransition(from, to)) throw new Error(`worker unit ${unit}: illegal state change ${from} → ${to}`);
}

/** The one place a unit's name is made: `Worker-<queue>-<index>` (CONTRACT.md log lines). */
export function unitName(queue: string, index: number): string {
  return `Worker-${queue}-${index}`;
}
