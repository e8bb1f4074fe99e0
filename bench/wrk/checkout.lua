-- POST /checkout, each request as the next guest of a prepared list: every key is used once.
-- KEYS is a file of session keys, one a line, each guest with one design in its cart; THREADS is
-- wrk's -t. Thread i takes lines i+1, i+1+THREADS, ... so no two threads share a key. Every request
-- carries a unique Idempotency-Key. When a thread has used all its keys it sends the request with no
-- session key (an empty cart: 400), and counts it as `exhausted`: such a run is not a valid measure.
local keys_file = os.getenv("KEYS") or error("KEYS (a file of session keys) is not set")
local threads_count = tonumber(os.getenv("THREADS") or "2")
local run = os.getenv("RUN") or "run"
local body = os.getenv("BODY") or error("BODY (the checkout request) is not set")

local threads = {}
local next_id = 0

setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local keys = {}
used_keys = 0
sent = 0
answered = 0
created = 0
exhausted = 0
local statuses = {}
statuses_text = ""

init = function(args)
  local n = 0
  for line in io.lines(keys_file) do
    if line ~= "" then
      if n % threads_count == id then
        keys[#keys + 1] = line
      end
      n = n + 1
    end
  end
end

request = function()
  sent = sent + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, id, sent),
  }
  if used_keys < #keys then
    used_keys = used_keys + 1
    headers["X-Session-Key"] = keys[used_keys]
  else
    exhausted = exhausted + 1
  end
  return wrk.format("POST", "/checkout", headers, body)
end

response = function(status, headers, response_body)
  answered = answered + 1
  if status == 201 then
    created = created + 1
  else
    statuses[status] = (statuses[status] or 0) + 1
    local parts = {}
    for code, count in pairs(statuses) do
      parts[#parts + 1] = code .. "=" .. count
    end
    statuses_text = table.concat(parts, ",")
  end
end

-- One JSON line with the run's figures, the report.lua ones plus the per-thread counters summed:
-- sent (requests written), answered, created (201s), exhausted (sent with no key left), and the
-- count of every other status.
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  local totals = {sent = 0, answered = 0, created = 0, exhausted = 0, used_keys = 0}
  local others = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
    -- A table cannot cross threads: each thread's statuses come back as "code=count,..." text.
    for code, count in string.gmatch(thread:get("statuses_text") or "", "(%d+)=(%d+)") do
      others[code] = (others[code] or 0) + tonumber(count)
    end
  end
  local parts = {}
  for code, count in pairs(others) do
    parts[#parts + 1] = string.format('"%s": %d', code, count)
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, '
      .. '"errors": %d, "non_2xx": %d, "sent": %d, "answered": %d, "created": %d, "exhausted": %d, '
      .. '"keys_used": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.status, totals.sent, totals.answered, totals.created, totals.exhausted,
    totals.used_keys, table.concat(parts, ", ")))
end
