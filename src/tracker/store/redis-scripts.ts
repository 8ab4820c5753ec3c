/**
 * The Redis store's server-side scripts (Lua, run with EVALSHA): each request of the store is one
 * script, so one round trip, and atomic, so any number of tracker processes share one Redis
 * without races.
 *
 * Layout, for a key prefix P and a 20-byte info_hash IH (both raw bytes):
 * - `P z IH`: sorted set, member = the peer's compact address (6 or 18 bytes), score = last seen
 *   (ms). Expiry is by score (ZREMRANGEBYSCORE): Redis 7.0 has no per-field expiry.
 * - `P h IH`: hash, field = compact address -> record ('1' seeder or '0', then the 20-byte
 *   peer_id); and the swarm's counters: `s` seeders, `c` completed downloads, `a` + the first 4
 *   (IPv4 /32) or 8 (IPv6 /64) address bytes -> peers of that address here. Peer fields are 6 or
 *   18 bytes, counter fields 1, 5 or 9: they never collide.
 *   Both keys carry a TTL of 2 x the peer lifetime, renewed on each announce: a swarm nobody
 *   announces to vanishes by itself even if no tracker runs the expiry pass.
 * - `P swarms`: sorted set, member = IH, score = its oldest peer's last seen: the expiry pass asks
 *   it for the swarms that have something to drop, and never scans the others.
 * - `P totals`: hash, `p` peers and `s` seeders across all swarms (the global limit, counts()),
 *   `c` downloads reported completed.
 * - `P b` + address prefix: the GCRA time of that address's budget for new torrents.
 */

/** Functions every script shares. Keys beyond KEYS are built from the prefix: one Redis, not a Cluster. */
const COMMON = `
local function addrField(m)
  if #m == 6 then return 'a' .. string.sub(m, 1, 4) end
  return 'a' .. string.sub(m, 1, 8)
end

local function isSeederRecord(rec)
  return rec ~= false and rec ~= nil and string.byte(rec, 1) == 49
end

-- Forget member m's record and its share of every counter (the sorted set is the caller's).
local function dropRecord(H, G, m)
  local rec = redis.call('HGET', H, m)
  if not rec then return end
  if isSeederRecord(rec) then
    redis.call('HINCRBY', H, 's', -1)
    redis.call('HINCRBY', G, 's', -1)
  end
  local af = addrField(m)
  if redis.call('HINCRBY', H, af, -1) <= 0 then redis.call('HDEL', H, af) end
  redis.call('HDEL', H, m)
  redis.call('HINCRBY', G, 'p', -1)
end

-- Drop at most limit (all when negative) peers last seen before cutoff; how many were dropped.
local function prune(Z, H, G, cutoff, limit)
  local old
  if limit < 0 then old = redis.call('ZRANGEBYSCORE', Z, '-inf', '(' .. cutoff)
  else old = redis.call('ZRANGEBYSCORE', Z, '-inf', '(' .. cutoff, 'LIMIT', 0, limit) end
  if #old == 0 then return 0 end
  for i = 1, #old do dropRecord(H, G, old[i]) end
  if limit < 0 then redis.call('ZREMRANGEBYSCORE', Z, '-inf', '(' .. cutoff)
  else redis.call('ZREMRANGEBYRANK', Z, 0, #old - 1) end
  return #old
end

-- Keep the swarm's place in the index (its oldest peer), or delete a swarm left empty.
local function reindex(Z, H, IDX, ih)
  local first = redis.call('ZRANGE', Z, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', IDX, ih)
    redis.call('DEL', Z, H)
  else
    redis.call('ZADD', IDX, first[2], ih)
  end
end
`;

/**
 * announce. KEYS: Z, H, IDX, G, B (the announcer's creation budget). ARGV: ih, address, peer_id,
 * seeder (1/0), event, now, ttl, numwant, withIds (1/0), exempt (1/0), maxTorrents,
 * maxPeersPerTorrent, maxPeers, maxPeersPerAddress, spacing, tolerance, keyTtl (ms).
 * Returns {code} when refused (-1 torrents, -2 peers, -3 new torrents from this address, -4
 * torrent full), else {seeders, leechers, v4, v6, ids4, ids6, listed (1) or not (0)}.
 */
export const ANNOUNCE_SCRIPT = `${COMMON}
local Z, H, IDX, G, B = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ih, addr, peerId = ARGV[1], ARGV[2], ARGV[3]
local seeder, event, now = ARGV[4] == '1', ARGV[5], tonumber(ARGV[6])
local ttl, numwant, withIds, exempt = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] == '1', ARGV[10] == '1'

-- GCRA: one number per address, the time its bucket would be full again.
local function take()
  local t = math.max(tonumber(redis.call('GET', B) or '0'), now)
  if t - now > tonumber(ARGV[16]) then return false end
  local nextTat = t + tonumber(ARGV[15])
  redis.call('SET', B, string.format('%.17g', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
  return true
end

-- 0: add or update; 1: answer but do not list; negative: refused.
local function admit(old, created)
  if old then return 0 end
  local peers = tonumber(redis.call('HGET', G, 'p') or '0')
  if created then
    if redis.call('ZCARD', IDX) >= tonumber(ARGV[11]) then return -1 end
    if peers >= tonumber(ARGV[13]) then return -2 end
    if not exempt and not take() then return -3 end
  end
  if redis.call('ZCARD', Z) >= tonumber(ARGV[12]) then return -4 end
  if peers >= tonumber(ARGV[13]) then return -2 end
  if not exempt and tonumber(redis.call('HGET', H, addrField(addr)) or '0') >= tonumber(ARGV[14]) then return 1 end
  return 0
end

local function write(old)
  local was = isSeederRecord(old)
  if event == 'completed' and not was then
    redis.call('HINCRBY', H, 'c', 1)
    redis.call('HINCRBY', G, 'c', 1)
  end
  if not old then
    redis.call('HINCRBY', G, 'p', 1)
    redis.call('HINCRBY', H, addrField(addr), 1)
  end
  if seeder ~= was then
    local d = seeder and 1 or -1
    redis.call('HINCRBY', H, 's', d)
    redis.call('HINCRBY', G, 's', d)
  end
  redis.call('HSET', H, addr, (seeder and '1' or '0') .. peerId)
  redis.call('ZADD', Z, now, addr)
  redis.call('PEXPIRE', Z, ARGV[17])
  redis.call('PEXPIRE', H, ARGV[17])
end

-- At most n distinct other peers, at random, split by family; ids only when asked.
local function sample(self, n)
  local v4, v6, i4, i6 = {}, {}, {}, {}
  if n > 0 then
    local picked = redis.call('ZRANDMEMBER', Z, n + 1)
    local recs = (withIds and #picked > 0) and redis.call('HMGET', H, unpack(picked)) or {}
    local taken = 0
    for i = 1, #picked do
      local m = picked[i]
      if m ~= self and taken < n then
        taken = taken + 1
        local id = recs[i] and string.sub(recs[i], 2) or ''
        if #m == 6 then v4[#v4 + 1] = m; i4[#i4 + 1] = id else v6[#v6 + 1] = m; i6[#i6 + 1] = id end
      end
    end
  end
  return table.concat(v4), table.concat(v6), table.concat(i4), table.concat(i6)
end

-- The index holds the swarm's oldest last-seen: prune only when it is past, rewrite the index
-- entry only when the oldest peer may have changed (most re-announces leave it as it is).
local cutoff = now - ttl
local oldest = redis.call('ZSCORE', IDX, ih)
local dirty = not oldest
if oldest and tonumber(oldest) < cutoff then
  prune(Z, H, G, cutoff, -1)
  dirty = true
end
local old = redis.call('HGET', H, addr)
local code = 0
if event == 'stopped' then
  if old then
    dropRecord(H, G, addr)
    redis.call('ZREM', Z, addr)
    dirty = true
  end
  numwant = 0
else
  code = admit(old, not oldest)
  if code < 0 then
    if dirty then reindex(Z, H, IDX, ih) end
    return {code}
  end
  if code == 0 then
    -- The oldest changes if the announcer was it, or if this clock is behind another process's.
    if not dirty and (now < tonumber(oldest) or (old and tonumber(redis.call('ZSCORE', Z, addr) or '0') <= tonumber(oldest))) then dirty = true end
    write(old)
  end
end
if dirty then reindex(Z, H, IDX, ih) end
local seeders = tonumber(redis.call('HGET', H, 's') or '0')
local v4, v6, i4, i6 = sample(code == 0 and addr or '', numwant)
return {seeders, redis.call('ZCARD', Z) - seeders, v4, v6, i4, i6, code == 0 and 1 or 0}
`;

/** scrape. ARGV: prefix, then the info_hashes. Returns {seeders, peers, completed} per hash, flat. */
export const SCRAPE_SCRIPT = `
local out = {}
for i = 2, #ARGV do
  local H = ARGV[1] .. 'h' .. ARGV[i]
  local v = redis.call('HMGET', H, 's', 'c')
  out[#out + 1] = tonumber(v[1] or '0')
  out[#out + 1] = redis.call('ZCARD', ARGV[1] .. 'z' .. ARGV[i])
  out[#out + 1] = tonumber(v[2] or '0')
end
return out
`;

/**
 * list. KEYS: Z, H. ARGV: cutoff, from, count (-1: all). Returns {live peers, then per listed
 * peer: address, last seen, record}.
 */
export const LIST_SCRIPT = `
local total = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')
local page = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
local out = {total}
for i = 1, #page, 2 do
  out[#out + 1] = page[i]
  out[#out + 1] = page[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], page[i]) or ''
end
return out
`;

/**
 * One expiry slice. KEYS: IDX, G. ARGV: prefix, cutoff, most peers to drop, most swarms to visit.
 * Returns {1} when no swarm has anything left to drop, {0} when the pass should go on.
 */
export const EXPIRE_SCRIPT = `${COMMON}
local IDX, G, prefix, cutoff = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local budget, most = tonumber(ARGV[3]), tonumber(ARGV[4])
local stale = redis.call('ZRANGEBYSCORE', IDX, '-inf', '(' .. cutoff, 'LIMIT', 0, most)
for i = 1, #stale do
  local Z, H = prefix .. 'z' .. stale[i], prefix .. 'h' .. stale[i]
  budget = budget - prune(Z, H, G, cutoff, budget)
  reindex(Z, H, IDX, stale[i])
  if budget <= 0 then return {0} end
end
if #stale < most then
  -- Swarms dropped by their key TTL left their peers in the totals: with no swarm left, reset them.
  if redis.call('ZCARD', IDX) == 0 then redis.call('DEL', G) end
  return {1}
end
return {0}
`;

/** counts. KEYS: IDX, G. Returns {swarms, peers, seeders, completed}. */
export const COUNTS_SCRIPT = `
local t = redis.call('HMGET', KEYS[2], 'p', 's', 'c')
return {redis.call('ZCARD', KEYS[1]), tonumber(t[1] or '0'), tonumber(t[2] or '0'), tonumber(t[3] or '0')}
`;

/**
 * One chunk of the swarm listing, by rank in the index. KEYS: IDX. ARGV: prefix, first rank,
 * count. Returns {swarms in the index, then per swarm: info_hash, seeders, peers, completed,
 * latest last-seen (a string: a score)}.
 */
export const LIST_SWARMS_SCRIPT = `
local first = tonumber(ARGV[2])
local page = redis.call('ZRANGE', KEYS[1], first, first + tonumber(ARGV[3]) - 1)
local out = {redis.call('ZCARD', KEYS[1])}
for i = 1, #page do
  local Z, H = ARGV[1] .. 'z' .. page[i], ARGV[1] .. 'h' .. page[i]
  local v = redis.call('HMGET', H, 's', 'c')
  local newest = redis.call('ZRANGE', Z, -1, -1, 'WITHSCORES')
  out[#out + 1] = page[i]
  out[#out + 1] = tonumber(v[1] or '0')
  out[#out + 1] = redis.call('ZCARD', Z)
  out[#out + 1] = tonumber(v[2] or '0')
  out[#out + 1] = newest[2] or '0'
end
return out
`;
