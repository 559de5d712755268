-- wrk script: authenticated status posts, round-robin over many players (one token each).
-- args: players-file path session-id ; players file lines: "<nickname> <id-token>"
local players = {}
local idx = 0
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    local name, token = line:match("^(%S+) (%S+)$")
    players[#players + 1] = { name, token }
  end
  path = args[2]
  sid = args[3]
  -- wrk threads share no state: start each at another offset so players stay evenly paced.
  idx = math.random(#players)
end

function request()
  idx = idx % #players + 1
  counter = counter + 1
  local p = players[idx]
  local body = string.format(
    '{"SessionId":"%s","Nickname":"%s","Score":%d,"Shots":%d,"Level":1,"Lives":3,"Timestamp":"%s"}',
    sid, p[1], counter, counter % 1000, os.date("!%Y-%m-%dT%H:%M:%SZ"))
  return wrk.format("POST", path, { ["Content-Type"] = "application/json", ["Authorization"] = p[2] }, body)
end
