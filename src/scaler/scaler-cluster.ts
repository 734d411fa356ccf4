/**
 * The instances sharing the pool as the scaler sees them (CONTRACT.md "Several instances"): this
 * one, read from its own pool, and the others, read from Redis. The split itself is pure
 * (assign.ts).
 */

import type { AssignableInstance } from './assign.js';

/**
 * The other instances sharing the pool, and this one's place among them. Without it the scaler
 * sees only its own pool, as a single instance.
 */
export interface ScalerCluster {
  /** This instance's id. */
  readonly selfId: string;
  /** This instance's capacity (units over all queues). */
  capacity(): number;
  /** This instance's live units per queue, from its own pool (fresher than its last beat). */
  units(): Readonly<Record<string, number>>;
  /** The live instances with their capacities and units per queue (this one included or not). */
  instances(): Promise<readonly AssignableInstance[]>;
  /** True while this instance has fenced itself (Redis unreachable for it): no evaluation then. */
  fenced?(): boolean;
}

/**
 * The live instances in id order: the others as listed, and this one (`self`) in place of any
 * entry listed under its id, since its own count is fresher than what it last published. The one
 * merge of "this instance and the others": the scaler's split and `/api/status` list them so.
 */
export function withSelf<T extends { readonly id: string }>(others: readonly T[], self: T): T[] {
  return [...others.filter((i) => i.id !== self.id), self].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The live instances in id order, this one with its capacity and units from its own pool. */
export async function membersWithSelf(cluster: ScalerCluster): Promise<AssignableInstance[]> {
  const others = await cluster.instances();
  return withSelf(others, { id: cluster.selfId, capacity: cluster.capacity(), units: cluster.units() });
}
