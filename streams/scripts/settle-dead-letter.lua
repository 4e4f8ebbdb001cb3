--[[
  Settles a parked entry on an operator's request: retry it (move it back into the partition
  stream, at its end, for the user's actor to apply) or discard it.

  Everything happens in this one script, so a retry cannot apply an entry twice: two retries that
  race run one after the other, and the second finds no dead letter. Every copy of the entry in
  the dead-letter stream goes (parking is at-least-once: a crash between parking and the
  checkpoint parks the same entry again), the original entry leaves the partition stream (it was
  never applied: the actor moved its checkpoint past it when it parked it), and a marker keeps a
  copy parked later still from being retried again. All keys carry the partition's hash tag, so
  the script is cluster-safe.

    Input:
      KEYS[1] dead-letter stream   `<ns>:{p<n>}:dead`
      KEYS[2] partition stream     `<ns>:{p<n>}:events`
      KEYS[3] settled marker       `<ns>:{p<n>}:dead:settled:<entryId>` (string: what was done)

      ARGV[1] action: `retry` or `discard`
      ARGV[2] the dead letter's id in the dead-letter stream
      ARGV[3] the parked entry's id in the partition stream (the dead letter's `entry` field)
      ARGV[4] envelope field name (`e`)
      ARGV[5] retry: the envelope JSON to append; discard: unused
      ARGV[6] marker TTL in seconds
      ARGV[7] marker text of a discard (`discarded: <reason>`; a retry writes `retried as <id>`);
              a discard does not replace a marker already there

    Output:
      { 0 }                     no such dead letter (already settled, trimmed, or never there)
      { 1, removed, streamId }  retried: appended as streamId; `removed` dead letters deleted
      { 2, removed }            discarded; `removed` dead letters deleted
      { 3, marker }             retry refused: this entry was settled before (the marker's text)
]]
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local rows = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #rows == 0 or field(rows[1][2], 'entry') ~= ARGV[3] then
  return { 0 }
end

if ARGV[1] == 'retry' then
  local settled = redis.call('GET', KEYS[3])
  if settled then
    return { 3, settled }
  end
end

-- Every copy of the entry: the dead-letter stream is capped (DEAD_LETTER_MAXLEN), so this scan is
-- bounded; settling is a rare operator action.
local removed = 0
local cursor = '-'
while true do
  local page = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 1000)
  for _, row in ipairs(page) do
    if field(row[2], 'entry') == ARGV[3] then
      removed = removed + redis.call('XDEL', KEYS[1], row[1])
    end
  end
  if #page < 1000 then break end
  cursor = '(' .. page[#page][1]
end
redis.call('XDEL', KEYS[2], ARGV[3])

if ARGV[1] == 'retry' then
  local id = redis.call('XADD', KEYS[2], '*', ARGV[4], ARGV[5])
  redis.call('SET', KEYS[3], 'retried as ' .. id, 'EX', tonumber(ARGV[6]))
  return { 1, removed, id }
end
-- NX: a later copy discarded after a retry leaves the retry's marker.
redis.call('SET', KEYS[3], ARGV[7], 'EX', tonumber(ARGV[6]), 'NX')
return { 2, removed }
