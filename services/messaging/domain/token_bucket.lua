-- token_bucket.lua: the per-channel send-rate limit that every messaging worker shares.
-- The same arithmetic as TakeTokens() in token_bucket.{h,cc}; change the two together (the
-- unit tests pin the C++ side, whose comments explain the choices).
--
-- Call: EVALSHA <sha> 1 <bucket key> <capacity> <refill> <now_ms> <tokens>
--   KEYS[1]  the bucket, e.g. fw:{<trial>}:messaging:ratelimit:email, a hash with fields
--            u (tokens left, in units: 1 token = 1,000,000 units) and t (last update, ms)
--   ARGV[1]  capacity: the largest burst, in tokens (1..1e9)
--   ARGV[2]  refill rate in millitokens per second (1..1e12), which is exactly the refill in
--            units per millisecond: integer arithmetic, exact in Lua's doubles below 2^53
--   ARGV[3]  now, in milliseconds since the Unix epoch, from the caller's (injectable) clock,
--            so a simulated clock drives the limiter too
--   ARGV[4]  tokens to take (1..capacity)
-- Returns {allowed (1 or 0), wait_ms (when refused: until the tokens would be there),
--          units left after the call}.
--
-- Semantics:
--  * A missing bucket is full. The key expires after the time to refill an empty bucket plus a
--    second, by which time it would be full anyway: expiry changes nothing.
--  * Refill is for the time since t, capped at the capacity. A caller whose clock is behind t
--    refills nothing and does not move t back, so workers with skewed clocks cannot mint tokens.
--  * Tokens are taken only if all of them are there; a refusal takes nothing, but the refill
--    it computed is stored.
--  * The script is atomic in Redis, so workers never overdraw the bucket between them.

local UNITS = 1000000

local function integer_arg(i, lo, hi, name)
  local v = tonumber(ARGV[i])
  if v == nil or v ~= math.floor(v) or v < lo or v > hi then
    return nil, 'token_bucket: ' .. name .. ' must be an integer in ' .. lo .. '..' .. hi
  end
  return v
end

local capacity, err = integer_arg(1, 1, 1e9, 'capacity')
if not capacity then return redis.error_reply(err) end
local rate
rate, err = integer_arg(2, 1, 1e12, 'refill millitokens per second')
if not rate then return redis.error_reply(err) end
local now
now, err = integer_arg(3, 0, 9e15, 'now_ms')
if not now then return redis.error_reply(err) end
local tokens
tokens, err = integer_arg(4, 1, capacity, 'tokens')
if not tokens then return redis.error_reply(err) end

local full = capacity * UNITS
local stored = redis.call('HMGET', KEYS[1], 'u', 't')
local units = tonumber(stored[1])
local updated = tonumber(stored[2])
if units == nil or updated == nil then
  units = full
  updated = now
else
  if units > full then units = full end -- the capacity may have been lowered
  if now > updated then
    local elapsed = now - updated
    local deficit = full - units
    -- elapsed * rate may be inexact when huge, but then it is far above deficit (<= 1e15):
    -- the comparison is still right, and the sum below is only formed when it is exact.
    if elapsed * rate >= deficit then
      units = full
    else
      units = units + elapsed * rate
    end
    updated = now
  end
end

local need = tokens * UNITS
local allowed = 0
local wait = 0
if units >= need then
  units = units - need
  allowed = 1
else
  -- Exact: both operands are integers below 2^53, so the quotient is correctly rounded and
  -- never lands on the wrong side of an integer.
  wait = math.ceil((need - units) / rate)
end

-- '%.0f' keeps every digit; Lua's default number formatting keeps only 14.
redis.call('HSET', KEYS[1], 'u', string.format('%.0f', units), 't', string.format('%.0f', updated))
redis.call('PEXPIRE', KEYS[1], math.ceil(full / rate) + 1000)
return {allowed, wait, units}
