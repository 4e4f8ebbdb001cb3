--[[
  Appends a verified webhook to its partition stream exactly once per webhookId.

  Dedupe, append and mark-as-seen happen in this one script, so two deliveries of the same
  webhook that race (SnapTrade retries, or a proxy that resends) cannot both append: Redis runs
  scripts one at a time. Both keys carry the partition's hash tag, so the script is cluster-safe.

    Input:
      KEYS[1] seen key       `<ns>:{p<n>}:webhook:<webhookId>` (string: the stream id it was appended as)
      KEYS[2] partition stream `<ns>:{p<n>}:events`

      ARGV[1] envelope field name (`e`)
      ARGV[2] envelope JSON
      ARGV[3] seen-key TTL in seconds (longer than SnapTrade's retry window)

    Output:
      { 1, streamId }  appended now
      { 0, streamId }  a duplicate: streamId is the entry the first delivery appended
]]
local seen = redis.call('GET', KEYS[1])
if seen then
  return { 0, seen }
end
local id = redis.call('XADD', KEYS[2], '*', ARGV[1], ARGV[2])
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[3]))
return { 1, id }
