-- wrk script for bench/fleet_sim_bench.sh: GET status requests spread over many seeded
-- workspaces (one "workspace_id|instance_id" per line in the file named by FLEETSIM_IDS),
-- each thread starting at its own offset so the lookups do not repeat in lockstep.
local paths = {}
local position = 0

function setup(thread)
  thread:set("offset", math.random(1, 1000000))
end

function init(args)
  local file = os.getenv("FLEETSIM_IDS")
  for line in io.lines(file) do
    local workspace, instance = line:match("([^|]+)|([^|]+)")
    if workspace then
      paths[#paths + 1] = "/cp/workspaces/" .. workspace .. "/status?instance_id=" .. instance
    end
  end
  position = (offset or 0) % #paths
end

function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end

-- Counts non-2xx answers (wrk reports them too, as "Non-2xx or 3xx responses").
function done(summary, latency, requests)
  io.write(string.format("latency_p50_us=%d latency_p99_us=%d\n",
                         latency:percentile(50), latency:percentile(99)))
end
