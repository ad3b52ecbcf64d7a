-- wrk script for the verification path: every request carries the next of
-- the tokens in the file given after `--` (one per line), each wrk thread
-- starting at its own offset, so no token repeats within one cache's reach.
local next_id = 0
setup = function(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

local tokens = {}
local index = 0

init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      tokens[#tokens + 1] = "Bearer " .. line
    end
  end
  index = ((thread_id or 0) * 4099) % #tokens
end

request = function()
  index = index % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = tokens[index] })
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
