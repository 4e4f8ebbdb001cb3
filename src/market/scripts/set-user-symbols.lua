--[[
  Replaces the set of securities one user holds and keeps the union of everyone's in step.

  Diffs the user's new set against the stored one, adjusts each changed security's holder
  count, and appends `{op, symbol}` to the changes stream only when a count goes 0 -> 1 (`add`)
  or 1 -> 0 (`remove`). Idempotent: a second call with the same set finds no difference and
  changes nothing, so callers that deliver at least once are fine. All keys carry the
  `{symbols}` hash tag, so the script is cluster-safe.

    Input:
      KEYS[1] the user's set        `<ns>:{symbols}:user:<userId>` (set of symbols)
      KEYS[2] holder counts         `<ns>:{symbols}:holders` (hash: symbol -> count)
      KEYS[3] changes stream        `<ns>:{symbols}:changes`

      ARGV[1] approximate MAXLEN of the changes stream
      ARGV[2..n] the user's new symbols: distinct, sorted (may be none)

    Output:
      { added, removed, appeared, disappeared }, four arrays of symbols:
        added        in the user's new set, not in the stored one
        removed      in the stored set, not in the new one
        appeared     held by nobody before, by this user now (an `add` was appended)
        disappeared  held by this user before, by nobody now (a `remove` was appended)
]]
local userKey, holdersKey, changesKey = KEYS[1], KEYS[2], KEYS[3]
local maxLen = ARGV[1]

local wanted = {}
for i = 2, #ARGV do
  wanted[ARGV[i]] = true
end

local stored = {}
local removed = {}
for _, symbol in ipairs(redis.call('SMEMBERS', userKey)) do
  stored[symbol] = true
  if not wanted[symbol] then
    removed[#removed + 1] = symbol
  end
end
-- SMEMBERS order is arbitrary; sort so the changes stream order is deterministic.
table.sort(removed)

local added = {}
for i = 2, #ARGV do
  local symbol = ARGV[i]
  if not stored[symbol] then
    added[#added + 1] = symbol
  end
end

local appeared = {}
local disappeared = {}

-- SADD/SREM in slices: unpack() of a very large table would overflow Lua's C stack.
local function eachSlice(command, list)
  for first = 1, #list, 1000 do
    redis.call(command, userKey, unpack(list, first, math.min(first + 999, #list)))
  end
end

if #added > 0 then
  eachSlice('SADD', added)
  for _, symbol in ipairs(added) do
    if redis.call('HINCRBY', holdersKey, symbol, 1) == 1 then
      appeared[#appeared + 1] = symbol
      redis.call('XADD', changesKey, 'MAXLEN', '~', maxLen, '*', 'op', 'add', 'symbol', symbol)
    end
  end
end

if #removed > 0 then
  eachSlice('SREM', removed)
  for _, symbol in ipairs(removed) do
    local count = redis.call('HINCRBY', holdersKey, symbol, -1)
    if count <= 0 then
      redis.call('HDEL', holdersKey, symbol)
    end
    if count == 0 then
      disappeared[#disappeared + 1] = symbol
      redis.call('XADD', changesKey, 'MAXLEN', '~', maxLen, '*', 'op', 'remove', 'symbol', symbol)
    end
  end
end

return { added, removed, appeared, disappeared }
