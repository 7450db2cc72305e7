-- One wrk request shape, configured from the environment by bench/bench.py:
--   BENCH_AUTHORIZATION  the Authorization header (HTTP Basic; every request is authenticated)
--   BENCH_METHOD         GET (default) or POST
--   BENCH_BODY           JSON request body (POST)
-- done() prints one line, "BENCH_JSON {...}", that bench.py parses: latency percentiles in
-- microseconds, request count, duration and wrk's error counters (status = answers >= 400).

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
wrk.headers["Accept"] = "application/json"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
