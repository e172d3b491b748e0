-- wrk script of bench/run.sh.
--   BENCH_POST_BYTES=N  send every request as a POST with an N-byte body
-- At the end it prints one machine-readable line:
--   BENCH requests=.. duration_us=.. rps=.. p50_us=.. p99_us=.. max_us=..
--         non2xx=.. connect=.. read=.. write=.. timeout=..
local post = tonumber(os.getenv("BENCH_POST_BYTES") or "0")
if post and post > 0 then
   wrk.method = "POST"
   wrk.body = string.rep("p", post)
   wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d " ..
      "max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout))
end
