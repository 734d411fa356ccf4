/**
 * The least-privilege Redis ACL the service needs (README "Redis in production"). The README's
 * line for the defaults is this function's output; `test/integration/redis/acl-user.test.ts`
 * runs the whole echo flow as a user created with exactly these rules and fails on any command
 * the server refused (`ACL LOG`).
 */

/** Command rules: the data types and scripting BullMQ and the service use, nothing administrative. */
export const ACL_COMMAND_RULES = [
  '-@all',
  '+@read',
  '+@write',
  '+@keyspace',
  '+@string',
  '+@list',
  '+@hash',
  '+@set',
  '+@sortedset',
  '+@stream',
  '+@scripting',
  '+@transaction',
  '+@pubsub',
  '+@blocking',
  '+@connection',
  // Nothing that flushes, reconfigures, migrates or lists every key (KEYS) ...
  '-@dangerous',
  // ... but INFO (ioredis's ready check, the role check under Sentinel, BullMQ's version check,
  // Bull Board's Redis panel) and CLIENT LIST (Bull Board's and BullMQ's worker list).
  '+info',
  '+client|list',
  // TIME: the pool's scripts read the server's clock (one clock for every instance).
  '+time',
] as const;

/** What a deployment's rules depend on. */
export interface AclScope {
  /** `redis.prefix`. */
  readonly prefix: string;
  /** The queues' `sourceList` and `resultList` names. */
  readonly lists: readonly string[];
}

/**
 * Key patterns: everything under the prefix, and the lists shared with the poller and the writer
 * with their `:invalid` / `:processing:<id>` companions (`~fila:*` covers the default names).
 */
export function aclKeyPatterns(scope: AclScope): string[] {
  const patterns = [`~${scope.prefix}:*`];
  const extra = new Set<string>();
  for (const list of scope.lists) {
    if (list.startsWith('fila:')) extra.add('fila:*');
    else {
      extra.add(list);
      extra.add(`${list}:*`);
    }
  }
  return [...patterns, ...[...extra].sort().map((p) => `~${p}`)];
}

/**
 * The rules after `ACL SETUSER <user> on ><password>`: keys, pub/sub channels (the pool's nudge
 * channel lives under the prefix) and commands.
 */
export function aclRules(scope: AclScope): string {
  return ['resetkeys', ...aclKeyPatterns(scope), 'resetchannels', `&${scope.prefix}:*`, ...ACL_COMMAND_RULES].join(' ');
}

/** The scope of a configuration's queues. */
export function aclScopeOf(config: {
  readonly redis: { readonly prefix: string };
  readonly queues: readonly { readonly sourceList: string; readonly resultList: string }[];
}): AclScope {
  return { prefix: config.redis.prefix, lists: config.queues.flatMap((q) => [q.sourceList, q.resultList]) };
}
