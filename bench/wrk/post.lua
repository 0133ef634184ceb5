-- POST /api/people/{id}/notes: a new note on every request.
-- Usage: wrk -s post.lua http://host:port -- <person_id>
dofile("report.lua")

local path
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

function init(args)
  path = "/api/people/" .. args[1] .. "/notes"
end

function request()
  counter = counter + 1
  local body = '{"content":"Benchmark note number ' .. counter .. ', written to measure creating notes."}'
  return wrk.format("POST", path, headers, body)
end
