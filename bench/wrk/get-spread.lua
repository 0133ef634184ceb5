-- GET of a path with "{id}" in it, the id drawn at random from 1..N on every request.
-- Usage: wrk -s get-spread.lua http://host:port -- <path> <N>
dofile("report.lua")

local path
local count

function init(args)
  path = args[1]
  count = tonumber(args[2])
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", (path:gsub("{id}", tostring(math.random(1, count)))))
end
