-- wrk script for scripts/bench-api.sh: one route, every request built from
-- a line prepared before the run (a body or a bearer token), so nothing
-- is computed while the clock runs.
--
--   wrk -tN ... -s lines.lua URL -- METHOD PATH [FILE MODE N]
--     MODE body:   FILE's lines are JSON bodies, one per request, each once
--                  (a verification body works once: reused ones are refused
--                  and show as non-2xx in the summary).
--     MODE bearer: FILE's lines are session tokens, sent in turn.
--   Without FILE, the same request every time (GET /v1/health).

local method, path, file, mode, thread_total
local lines = {}
local next_line = 0

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
end

function init(args)
  method, path, file, mode = args[1], args[2], args[3], args[4]
  thread_total = tonumber(args[5] or "1")
  if file then
    local k = 0
    -- Each thread takes every n-th line, so no two send the same body.
    for line in io.lines(file) do
      if k % thread_total == (id - 1) then
        lines[#lines + 1] = line
      end
      k = k + 1
    end
  end
end

function request()
  if not file then
    return wrk.format(method, path)
  end
  next_line = next_line + 1
  if next_line > #lines then
    next_line = 1
  end
  local line = lines[next_line]
  if mode == "bearer" then
    return wrk.format(method, path, { ["Authorization"] = "Bearer " .. line })
  end
  return wrk.format(method, path, { ["Content-Type"] = "application/json" }, line)
end

function done(summary, latency, requests)
  -- One line for the script: requests, seconds, p50 and p99 in ms,
  -- non-2xx answers, socket errors.
  local e = summary.errors
  io.write(string.format("WRK|%d|%.3f|%.3f|%.3f|%d|%d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
