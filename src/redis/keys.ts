/**
 * Names of the keys the service keeps in Redis beside BullMQ's. Everything lives under the
 * configured prefix (`redis.prefix`, REDIS_PREFIX), so deployments with different prefixes share
 * a database without seeing each other's state:
 *
 * - `<prefix>:<queue>:*`: BullMQ's queue `<queue>` (its jobs, counters, events);
 * - `<prefix>:pool:<queues>:*`: the pool of instances serving those queues (cluster/);
 * - `<prefix>:rpa:<name>`: the service's own keys (this module).
 *
 * Queue names `rpa` and `pool` are refused by the configuration for that reason. Only the lists
 * shared with the poller and the writer (`fila:*` by default, with their `:invalid` and
 * `:processing:` companions) are named by the configuration instead.
 */

/** `<prefix>:rpa:<name>`: one of the service's own keys. */
export function serviceKey(prefix: string, name: string): string {
  return `${prefix}:rpa:${name}`;
}

/** The stream of scaling decisions (the dashboard's history). */
export function decisionsKey(prefix: string): string {
  return serviceKey(prefix, 'decisions');
}

/** Prefix of the per-queue hashes of the measured CPU per busy unit: `<prefix>:rpa:unit-cpu:<queue>`. */
export function unitCpuKeyPrefix(prefix: string): string {
  return serviceKey(prefix, 'unit-cpu');
}

/** Prefix of the per-queue lists of recent job times: `<prefix>:rpa:job-ms:<queue>`. */
export function jobTimesKeyPrefix(prefix: string): string {
  return serviceKey(prefix, 'job-ms');
}
