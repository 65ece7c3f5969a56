-- One round of the sign-in timing rows (scripts/bench/signin-timing.sh, SPEC §5.7: "an unknown
-- e-mail costs the same awaited work as a known one"): POST /api/auth/login with a wrong password,
-- run with -t1 -c1.
--   BENCH_KIND=unknown  a never-registered address per request: nobody<index>-<BENCH_RUN>@example.com
--   BENCH_KIND=known    the seeded accounts listed in BENCH_EMAILS (one per line), the next one per
--                       request, so that no account collects enough failures to be locked (a locked
--                       account answers 429 without any password work, which would distort the row)
--   BENCH_SEQ           index of this round's first request within its row (rotation goes on
--                       across rounds)
--   BENCH_IP_BASE       added to the index for the CF-Connecting-IP header (rows use disjoint ranges)
--   BENCH_MAX           requests at most in this round; then the connection idles until -d ends
--   BENCH_PASSWORD      the (wrong) password; BENCH_ORIGIN; BENCH_SAMPLES: file that gets one
--                       latency in µs per answered request (appended)
-- Every request carries its own CF-Connecting-IP (10.x.y.z from its index): the per-IP limit of
-- failed sign-ins must not turn the rows into 429s. It is only a header; traffic stays on loopback.
-- Latency is timed here (CLOCK_MONOTONIC through LuaJIT's ffi, from the request being built to its
-- answer being parsed) because wrk's own histogram adds synthetic samples for slow requests
-- (coordinated-omission correction), which would shift medians; without ffi, wrk's histogram is
-- used and the RESULT line says clock=wrk.
-- Prints one machine-readable RESULT line at the end.
local kind = os.getenv("BENCH_KIND") or "unknown"
local emails_file = os.getenv("BENCH_EMAILS")
local seq = tonumber(os.getenv("BENCH_SEQ") or "0")
local ip_base = tonumber(os.getenv("BENCH_IP_BASE") or "0")
local max = tonumber(os.getenv("BENCH_MAX") or "1000000")
local password = os.getenv("BENCH_PASSWORD") or "Wrong-password-1!"
local run = os.getenv("BENCH_RUN") or "run"
local origin = os.getenv("BENCH_ORIGIN")
local samples_file = os.getenv("BENCH_SAMPLES")

local has_ffi, ffi = pcall(require, "ffi")
local now_us
if has_ffi then
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  now_us = function()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
  end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local emails = {}
-- Thread state, read by done() through thread:get.
issued = 0
samples = {}
statuses = {}

function init(args)
  if kind == "known" then
    for line in io.lines(emails_file) do
      if line ~= "" then table.insert(emails, line) end
    end
    assert(#emails > 0, "no e-mails in " .. tostring(emails_file))
  end
end

local function ip_of(index)
  local i = ip_base + index
  return string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
end

-- Once BENCH_MAX requests are out, wait (far longer than the round) instead of sending more.
function delay()
  if issued >= max then return 3600000 end
  return 0
end

local started
function request()
  -- (wrk also calls this once, unsent, to check the request parses: that index is skipped.)
  local index = seq + issued
  issued = issued + 1
  local email
  if kind == "known" then
    email = emails[index % #emails + 1]
  else
    email = string.format("nobody%d-%s@example.com", index, run)
  end
  local headers = {
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) wrk-bench",
    ["Content-Type"] = "application/json",
    ["CF-Connecting-IP"] = ip_of(index),
  }
  if origin then headers["Origin"] = origin end
  local body = string.format('{"email":"%s","password":"%s"}', email, password)
  local req = wrk.format("POST", nil, headers, body)
  if now_us then started = now_us() end
  return req
end

function response(status, hdrs, body)
  if now_us and started then
    samples[#samples + 1] = math.floor(now_us() - started + 0.5)
    started = nil
  end
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local all_issued, all_statuses, all_samples = 0, {}, {}
  for _, t in ipairs(threads) do
    all_issued = all_issued + (t:get("issued") or 0)
    for k, v in pairs(t:get("statuses") or {}) do all_statuses[k] = (all_statuses[k] or 0) + v end
    for _, v in ipairs(t:get("samples") or {}) do all_samples[#all_samples + 1] = v end
  end
  local clock = "ffi"
  if not has_ffi then
    clock = "wrk"
    for i = 1, #latency do
      local value, count = latency(i)
      for _ = 1, count do all_samples[#all_samples + 1] = value end
    end
  end
  if samples_file and samples_file ~= "" then
    local f = assert(io.open(samples_file, "a"))
    for _, v in ipairs(all_samples) do f:write(string.format("%d\n", v)) end
    f:close()
  end
  local answered, s401, s429, other = 0, 0, 0, {}
  for k, v in pairs(all_statuses) do
    answered = answered + v
    if k == "401" then s401 = v elseif k == "429" then s429 = v else other[#other + 1] = k .. "x" .. v end
  end
  table.sort(other)
  local e = summary.errors
  io.write(string.format("RESULT issued=%d answered=%d status_401=%d status_429=%d other=%s socket_errors=%d samples=%d clock=%s\n",
    all_issued, answered, s401, s429, #other > 0 and table.concat(other, ",") or "none",
    e.connect + e.read + e.write + e.timeout, #all_samples, clock))
end
