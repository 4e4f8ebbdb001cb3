--[[
  Writes prices under the market lease's fence: a batch of ticks to one price stream, or the
  newest price of each security of a batch to the last-price hash.

  The fence holds the highest token that wrote to its key. A lower token is refused and nothing
  is written: a market process that lost its lease (its successor already claimed the key)
  cannot publish. A higher token raises the fence. Called with nothing to write, it only claims
  the key (a new lease holder does so before it connects). Each fence is in its key's hash slot,
  so the script runs on one node of a Redis Cluster.

    Input:
      KEYS[1] the fence                 `<ns>:{prices<n>}:fence`, or `{<ns>:prices:last}:fence`
      KEYS[2] what it guards            the price stream `<ns>:{prices<n>}:ticks` (ARGV[2] `ticks`),
                                        or the last-price hash `<ns>:prices:last` (ARGV[2] `last`)

      ARGV[1] the writer's token (0: a writer without a lease, refused once any holder wrote)
      ARGV[2] `ticks` or `last`
      ticks:  ARGV[3] approximate MAXLEN of the stream; ARGV[4..] the ticks, five values each:
              symbol, price, trade time (epoch ms), size, and `rest` for a REST refetch or `` for
              a stream trade
      last:   ARGV[3..] symbol, encoded last price, symbol, encoded last price, ...

    Output:
      the number of ticks appended (or securities stored), or -1 when fenced (nothing written)
]]
local token = tonumber(ARGV[1])
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if fence > token then
  return -1
end
if fence < token then
  redis.call('SET', KEYS[1], token)
end

if ARGV[2] == 'last' then
  -- HSET in slices: unpack() of a very large table would overflow Lua's C stack.
  for first = 3, #ARGV, 2000 do
    redis.call('HSET', KEYS[2], unpack(ARGV, first, math.min(first + 1999, #ARGV)))
  end
  return (#ARGV - 2) / 2
end

local stream, maxLen = KEYS[2], ARGV[3]
local appended = 0
for i = 4, #ARGV, 5 do
  if ARGV[i + 4] == 'rest' then
    redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'sym', ARGV[i], 'p', ARGV[i + 1], 't', ARGV[i + 2], 'size', ARGV[i + 3], 'src', 'rest')
  else
    redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'sym', ARGV[i], 'p', ARGV[i + 1], 't', ARGV[i + 2], 'size', ARGV[i + 3])
  end
  appended = appended + 1
end
return appended
