/** The Lua scripts of pool-membership.ts (guarantees described there). Redis time, atomic. */

/** Purges expired instances and slots; used at the top of every script. */
const PURGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #dead > 0 then redis.call('ZREM', KEYS[1], unpack(dead)) end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #lapsed > 0 then
  redis.call('ZREM', KEYS[2], unpack(lapsed))
  redis.call('HDEL', KEYS[3], unpack(lapsed))
end
`;

// KEYS: instances, slots, holders, instance record, bridges. ARGV: id, json, ttlMs, bridgeId.
// Returns the slots this instance still holds (renewed), so it can retire units whose slot lapsed.
export const BEAT_SCRIPT = `${PURGE}
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[4], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], ARGV[4], ARGV[1]) end
local held = {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then
    redis.call('ZADD', KEYS[2], 'XX', now + ttl, all[i])
    held[#held + 1] = all[i]
  end
end
return held
`;

// KEYS: instances, slots, holders. ARGV: id, queue, maxPerQueue, maxTotal, ttlMs. Returns n or 0.
export const CLAIM_SCRIPT = `${PURGE}
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
for n = 1, tonumber(ARGV[3]) do
  local slot = ARGV[2] .. '|' .. n
  if not redis.call('ZSCORE', KEYS[2], slot) then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), slot)
    redis.call('HSET', KEYS[3], slot, ARGV[1])
    return n
  end
end
return 0
`;

// KEYS: slots, holders. ARGV: id, slot. Only the holder releases.
export const RELEASE_SCRIPT = `
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

// KEYS: instances, slots, holders, bridges. Returns the bridge ids whose instance is not live.
export const ORPHANS_SCRIPT = `${PURGE}
local orphans = {}
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  if not redis.call('ZSCORE', KEYS[1], all[i + 1]) then orphans[#orphans + 1] = all[i] end
end
return orphans
`;

// KEYS: instances, slots, holders, bridges. ARGV: bridgeId. Forgets it only while its instance is dead.
export const FORGET_SCRIPT = `${PURGE}
local owner = redis.call('HGET', KEYS[4], ARGV[1])
if owner and not redis.call('ZSCORE', KEYS[1], owner) then redis.call('HDEL', KEYS[4], ARGV[1]) return 1 end
return 0
`;

// KEYS: lease. ARGV: holder, ttlMs. Takes a free lease or renews one's own.
export const HOLD_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
`;

// KEYS: lease. ARGV: holder. Only the holder releases.
export const RELEASE_LEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: instances, slots, holders. ARGV: record key prefix. Returns {now, ids, records, slots+holders}.
export const SNAPSHOT_SCRIPT = `${PURGE}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local records = {}
for i = 1, #ids do records[i] = redis.call('GET', ARGV[1] .. ids[i]) or '' end
return {now, ids, records, redis.call('HGETALL', KEYS[3])}
`;
