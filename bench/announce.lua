-- wrk script for the tracker-announce benchmark: realistic BEP 3 announces.
--
--   wrk -t2 -c64 -d10s -s bench/announce.lua http://127.0.0.1:PORT -- HASHFILE PEERS PORTBASE
--
-- HASHFILE: the pre-populated torrents' info_hashes, 40 hex digits per line. Each request picks a
-- random torrent and a random one of its PEERS pre-populated peers (ports PORTBASE..PORTBASE+PEERS-1,
-- the first quarter of them seeders), with a fresh random peer_id, and re-announces it: compact=1,
-- numwant=50, no event. Keep-alive is wrk's default; `-H 'Connection: close'` gives one request per
-- connection. At the end one line `WRK_JSON {...}` carries the counts and the latency percentiles
-- (microseconds) for bench/tracker-load.ts to parse.

local hashes = {}
local peers = 20
local portBase = 20000
local threadId = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  peers = tonumber(args[2] or "20")
  portBase = tonumber(args[3] or "20000")
  for line in io.lines(file) do
    if #line == 40 then
      local escaped = line:gsub("..", "%%%0")
      hashes[#hashes + 1] = escaped
    end
  end
  if #hashes == 0 then error("no info_hash in " .. file) end
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

local hex = {}
for i = 0, 255 do hex[i] = string.format("%%%02X", i) end

local function randomBytes(n)
  local t = {}
  for i = 1, n do t[i] = hex[math.random(0, 255)] end
  return table.concat(t)
end

function request()
  local hash = hashes[math.random(#hashes)]
  local slot = math.random(0, peers - 1)
  local left = "0"
  if slot >= peers / 4 then left = "734003200" end
  local path = "/announce?info_hash=" .. hash
    .. "&peer_id=-WR0001-" .. randomBytes(12)
    .. "&port=" .. (portBase + slot)
    .. "&uploaded=0&downloaded=0&left=" .. left
    .. "&compact=1&numwant=50"
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
