-- wrk: GET requests that take turns over several worlds' credentials, for bench/cluster.py.
--   BENCH_AUTHORIZATIONS  Authorization header values, one per line (one per world)
-- done() prints "BENCH_JSON {...}" as bench/request.lua does (bench.py parses it).

local auths = {}
for line in string.gmatch(os.getenv("BENCH_AUTHORIZATIONS") or "", "[^\n]+") do
  auths[#auths + 1] = line
end
local n = 0

function init(args)
  n = math.random(#auths) -- each wrk thread starts at its own world
end

function request()
  n = n % #auths + 1
  return wrk.format("GET", nil, { ["Authorization"] = auths[n], ["Accept"] = "application/json" })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
