-- wrk script for the tracker soak (test/load/run.ts --only tracker-soak):
--
--   wrk -t2 -c64 -d60s -s test/load/announce.lua http://127.0.0.1:PORT -- HASHFILE PEERS PORTBASE
--
-- HASHFILE holds the torrents' info_hashes, 40 hex digits per line. Every request picks a random
-- torrent and one of its PEERS peers (port PORTBASE + slot, a stable peer_id per torrent and slot,
-- the first quarter seeders) and announces it: compact=1, numwant=50, `started` on about 1 in 20.
-- At the end one line `WRK_JSON {...}` carries the counts, the error kinds, the number of answers
-- per HTTP status class and the latency percentiles (microseconds) for run.ts to parse.

local hashes = {}
local peers = 20
local portBase = 30000
local threads = {}
statusCounts = { s2 = 0, s4 = 0, s5 = 0, other = 0, failures = 0 }

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  peers = tonumber(args[2] or "20")
  portBase = tonumber(args[3] or "30000")
  for line in io.lines(file) do
    if #line == 40 then
      hashes[#hashes + 1] = line:gsub("..", "%%%0")
    end
  end
  if #hashes == 0 then error("no info_hash in " .. file) end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local t = math.random(#hashes)
  local slot = math.random(0, peers - 1)
  local left = "0"
  if slot >= peers / 4 then left = "268435456" end
  local event = ""
  if math.random(20) == 1 then event = "&event=started" end
  local path = "/announce?info_hash=" .. hashes[t]
    .. "&peer_id=" .. string.format("-SK0001-%06d%06d", t % 1000000, slot)
    .. "&port=" .. (portBase + slot)
    .. "&uploaded=0&downloaded=0&left=" .. left
    .. "&compact=1&numwant=50&key=" .. slot .. event
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    statusCounts.s2 = statusCounts.s2 + 1
    -- A bencoded failure reason is a refusal, not an answer.
    if body and body:sub(1, 17) == "d14:failure reason" then statusCounts.failures = statusCounts.failures + 1 end
  elseif status >= 400 and status < 500 then statusCounts.s4 = statusCounts.s4 + 1
  elseif status >= 500 then statusCounts.s5 = statusCounts.s5 + 1
  else statusCounts.other = statusCounts.other + 1 end
end

function done(summary, latency, requests)
  local s2, s4, s5, other, failures = 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    local c = thread:get("statusCounts")
    s2 = s2 + c.s2; s4 = s4 + c.s4; s5 = s5 + c.s5; other = other + c.other; failures = failures + c.failures
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"s2xx":%d,"s4xx":%d,"s5xx":%d,"other":%d,"failures":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    s2, s4, s5, other, failures,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
