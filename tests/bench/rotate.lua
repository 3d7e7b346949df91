-- wrk script: send the requests of a file in turn, one per line: "<path?query>\t<body>".
-- Usage: wrk -t1 -c32 -d10s -s tests/bench/rotate.lua http://127.0.0.1:8000 -- requests.txt
-- With several wrk threads, thread i sends requests i, i+n, i+2n, ... so none is sent twice
-- before the file is used up.

local requests = {}
local position = 0
local step = 1
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local headers = { ["Content-Type"] = "text/xml; charset=utf-8" }
  for line in file:lines() do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
  end
  file:close()
  step = tonumber(args[2] or "1")
  position = index or 0
end

function request()
  local r = requests[position % #requests + 1]
  position = position + step
  return r
end
