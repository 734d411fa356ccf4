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

/**
 * True when an instance record (JSON, or false when there is none) belongs to another process
 * than host/pid/startedAt: two processes configured with one instance id. Numbers are compared as
 * numbers (a start time in ms is exact in a double; `tostring` would round it).
 */
const FOREIGN = `
local function foreign(raw, host, pid, startedAt)
  if not raw then return false end
  local ok, rec = pcall(cjson.decode, raw)
  if not ok or type(rec) ~= 'table' then return false end
  return rec.host ~= host or tonumber(rec.pid) ~= tonumber(pid) or tonumber(rec.startedAt) ~= tonumber(startedAt)
end
`;

/**
 * KEYS of the two membership scripts (join, beat): 1 instances, 2 slots, 3 holders, 4 this
 * instance's record, 5 bridges, 6 the pool's stored caps, 7 the live pools of this prefix.
 * ARGV: 1 id, 2 record JSON, 3 ttlMs, 4 bridgeId, 5 host, 6 pid, 7 startedAt, 8 pool name,
 * 9 held slots (`q|n,q|n`), 10 queues with a claim on its way (`q,q`), 11.. the caps this
 * instance offers, as field/value pairs (each field set only where the pool has none).
 */
const MEMBER_HEAD = `${PURGE}${FOREIGN}
local ttl = tonumber(ARGV[3])
-- Another live pool on this prefix (expired entries purged first), or nil.
local function otherPool()
  local stale = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', now)
  if #stale > 0 then redis.call('ZREM', KEYS[7], unpack(stale)) end
  for _, name in ipairs(redis.call('ZRANGE', KEYS[7], 0, -1)) do
    if name ~= ARGV[8] then return name end
  end
  return nil
end
-- Registers this instance and its pool; stores the offered caps where the pool has none. Returns
-- the stored caps (HGETALL's pairs).
local function register()
  redis.call('SET', KEYS[4], ARGV[2], 'PX', ttl)
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('ZADD', KEYS[7], now + ttl, ARGV[8])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], ARGV[4], ARGV[1]) end
  local caps = redis.call('HGETALL', KEYS[6])
  local stored = {}
  for i = 1, #caps, 2 do stored[caps[i]] = true end
  local missing = false
  for i = 11, #ARGV, 2 do
    if not stored[ARGV[i]] then
      redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1])
      missing = true
    end
  end
  redis.call('PEXPIRE', KEYS[6], ttl)
  if missing then caps = redis.call('HGETALL', KEYS[6]) end
  return caps
end
local function set(csv)
  local s = {}
  for item in string.gmatch(csv, '[^,]+') do s[item] = true end
  return s
end
-- Renews the slots this instance's open units hold (and, for a queue with a claim on its way, the
-- slots whose claim has not been answered yet); releases every other slot recorded for it.
local function reconcile()
  local keep, claiming, held, released = set(ARGV[9]), set(ARGV[10]), {}, {}
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do
    local slot = all[i]
    if all[i + 1] == ARGV[1] then
      local queue = string.match(slot, '^(.*)|')
      if keep[slot] or claiming[queue] then
        redis.call('ZADD', KEYS[2], 'XX', now + ttl, slot)
        held[#held + 1] = slot
      else
        redis.call('ZREM', KEYS[2], slot)
        redis.call('HDEL', KEYS[3], slot)
        released[#released + 1] = slot
      end
    end
  end
  return held, released
end
`;

// Joins the pool at start: refused while another pool (another set of queues) is live on this
// prefix, or while a live record with this id belongs to another process. Releases any slot a
// dead predecessor with this id left. Returns {'joined', {}, released, caps} or a refusal.
export const JOIN_SCRIPT = `${MEMBER_HEAD}
local other = otherPool()
if other then return {'other-pool', other} end
local cur = redis.call('GET', KEYS[4])
if foreign(cur, ARGV[5], ARGV[6], ARGV[7]) then return {'duplicate', cur} end
local caps = register()
local held, released = reconcile()
return {'joined', held, released, caps}
`;

// Every heartbeat: renews the record and reconciles the slots (see reconcile). Does nothing when
// the record was taken over by another process with this id, or when this pool had lapsed and
// another pool took the prefix meanwhile. Returns {'renewed', held, released, caps} or a refusal.
export const BEAT_SCRIPT = `${MEMBER_HEAD}
local cur = redis.call('GET', KEYS[4])
if foreign(cur, ARGV[5], ARGV[6], ARGV[7]) then return {'duplicate', cur} end
local mine = redis.call('ZSCORE', KEYS[7], ARGV[8])
if not mine or tonumber(mine) <= now then
  local other = otherPool()
  if other then return {'other-pool', other} end
end
local caps = register()
local held, released = reconcile()
return {'renewed', held, released, caps}
`;

// KEYS: instances, slots, holders, record, caps. ARGV: id, queue, ttlMs, host, pid, startedAt.
// Returns n, 0 (no slot free), -1 (not registered, or the id is another process's) or -2 (no caps).
export const CLAIM_SCRIPT = `${PURGE}${FOREIGN}
local cur = redis.call('GET', KEYS[4])
if not cur or foreign(cur, ARGV[4], ARGV[5], ARGV[6]) then return -1 end
local maxTotal = tonumber(redis.call('HGET', KEYS[5], 'maxTotalWorkers'))
local maxPerQueue = tonumber(redis.call('HGET', KEYS[5], 'maxWorkers:' .. ARGV[2]))
if not maxTotal or not maxPerQueue then return -2 end
if redis.call('ZCARD', KEYS[2]) >= maxTotal then return 0 end
for n = 1, maxPerQueue do
  local slot = ARGV[2] .. '|' .. n
  if not redis.call('ZSCORE', KEYS[2], slot) then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), slot)
    redis.call('HSET', KEYS[3], slot, ARGV[1])
    return n
  end
end
return 0
`;

// KEYS: slots, holders, record. ARGV: id, slot, host, pid, startedAt. Only the holder releases,
// and not a process whose id another process holds now.
export const RELEASE_SCRIPT = `${FOREIGN}
if foreign(redis.call('GET', KEYS[3]), ARGV[3], ARGV[4], ARGV[5]) then return 0 end
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

// KEYS: instances, slots, holders, record, caps, pools. ARGV: id, host, pid, startedAt, pool name.
// The last instance to leave takes the stored caps and the pool's registration with it.
export const LEAVE_SCRIPT = `${PURGE}${FOREIGN}
if foreign(redis.call('GET', KEYS[4]), ARGV[2], ARGV[3], ARGV[4]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[4])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[6], ARGV[5])
end
return 1
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
