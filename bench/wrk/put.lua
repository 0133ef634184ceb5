-- PUT /api/people/{id}/notes/{note_id}: new content on every request, so every request is a real change.
-- Usage: wrk -s put.lua http://host:port -- <person_id> <note_id>
dofile("report.lua")

local path
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

function init(args)
  path = "/api/people/" .. args[1] .. "/notes/" .. args[2]
end

function request()
  counter = counter + 1
  local body = '{"content":"Edited note, revision ' .. counter .. ', written to measure changing notes."}'
  return wrk.format("PUT", path, headers, body)
end
