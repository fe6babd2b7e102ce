-- wrk script for benches/http/soak.sh: one route per wrk process, chosen by
-- the first script argument; counts answers by status and prints, at the
-- end, one line: ROUTE requests p50_us p99_us status=count ...
route = nil
local n = 0
counts = {}
local threads = {}

local plans = {
  '{"cease":["GP0012","GP0044","GP0101"],"max_distance_m":25000}',
  '{"cease":["GP0007","GP0055"],"max_distance_m":20000}',
  '{"cease":["GP0201"],"capacity":{"GP0202":1800},"max_distance_m":15000}',
}
local bad = {
  {"GET", "/v1/datasets/bergamo/distances?to=somewhere"},
  {"GET", "/v1/datasets/nowhere/distances?to=assigned"},
  {"DELETE", "/v1/datasets/bergamo/distances"},
  {"GET", "/v1/datasets/bergamo/catchments?kind=gp&bands=1234"},
  {"POST", "/v1/datasets/bergamo/scenarios", '{"cease": 12}'},
  {"GET", "/ogc/collections/bergamo_areas/items?limit=-3"},
}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  route = args[1]
  counts = {}
end

function request()
  n = n + 1
  if route == "distances" then
    return wrk.format("GET", "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality")
  elseif route == "ogc" then
    return wrk.format("GET", "/ogc/collections/bergamo_facilities_gp/items?limit=100&offset=" .. ((n % 6) * 100))
  elseif route == "catchments" then
    local methods = {"voronoi", "bands", "assigned"}
    return wrk.format("GET", "/v1/datasets/bergamo/catchments?kind=gp&method=" .. methods[n % 3 + 1])
  elseif route == "scenarios" then
    -- A new threshold each time: a new plan, solved and stored (a repeat
    -- would be answered from the store).
    local plan = plans[n % #plans + 1]
    plan = plan:sub(1, -2) .. ',"min_group_size":' .. (10 + n % 40) .. '}'
    return wrk.format("POST", "/v1/datasets/bergamo/scenarios",
      {["Content-Type"] = "application/json"}, plan)
  elseif route == "bad" then
    local b = bad[n % #bad + 1]
    local headers = nil
    if b[3] then headers = {["Content-Type"] = "application/json"} end
    return wrk.format(b[1], b[2], headers, b[3])
  else
    return wrk.format("GET", "/health")
  end
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do
      total[k] = (total[k] or 0) + v
    end
  end
  local line = string.format("SOAK %s %d %d %d %d", threads[1]:get("route") or "?",
    summary.requests, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout)
  for k, v in pairs(total) do
    line = line .. string.format(" %d=%d", k, v)
  end
  io.write(line .. "\n")
end
