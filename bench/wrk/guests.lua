-- Requests as many different guests, in turn: each request carries the next session key of the file
-- KEYS (keys the server issued, one a line; bench/run.py makes them). METHOD, PATH_ and BODY come
-- from the environment (BODY may be empty).
local keys_file = os.getenv("KEYS") or error("KEYS (a file of session keys) is not set")
local method = os.getenv("METHOD") or "GET"
local path = os.getenv("PATH_") or "/cart"
local body = os.getenv("BODY")
if body == "" then body = nil end
local keys = {}
for line in io.lines(keys_file) do
  if line ~= "" then keys[#keys + 1] = line end
end
local counter = 0

request = function()
  counter = counter + 1
  local headers = {["X-Session-Key"] = keys[counter % #keys + 1]}
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, path, headers, body)
end
-- Prints one JSON line with the run's figures when wrk is done.
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.status))
end
