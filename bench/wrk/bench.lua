-- One benchmark row for wrk (driven by `row` of scripts/bench/lib.sh through the environment):
--   BENCH_METHOD, BENCH_COOKIE (session token), BENCH_BODY, BENCH_ORIGIN
--   BENCH_USERS: file of "token password" lines, one per wrk thread: password-change mode, where
--   each thread (one connection) changes its own user's password back and forth.
--   BENCH_EMAILS: file of e-mail addresses, one per wrk thread: each thread (one connection) puts
--   its own address for "{email}" in BENCH_BODY. Sign-in at c=16 needs it: an attempt is counted
--   before the password is checked (SPEC §5.7), so 16 parallel sign-ins of one account get 429s.
-- Prints one machine-readable RESULT line at the end.
local method = os.getenv("BENCH_METHOD") or "GET"
local cookie = os.getenv("BENCH_COOKIE") or ""
local body = os.getenv("BENCH_BODY")
local origin = os.getenv("BENCH_ORIGIN")
local users_file = os.getenv("BENCH_USERS")
local emails_file = os.getenv("BENCH_EMAILS")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

local current, other
function init(args)
  if users_file and users_file ~= "" then
    local n = 0
    for line in io.lines(users_file) do
      n = n + 1
      if n == tid then
        local token, password = line:match("^(%S+) (%S+)$")
        cookie = token
        current, other = password, password:gsub("%-a%-", "-b-")
      end
    end
    assert(current, "no user line for thread " .. tostring(tid))
  end
  if emails_file and emails_file ~= "" and body then
    local n, email = 0, nil
    for line in io.lines(emails_file) do
      n = n + 1
      if n == tid then email = line end
    end
    assert(email, "no e-mail line for thread " .. tostring(tid))
    body = body:gsub("{email}", email)
  end
end

local function headers()
  local h = { ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) wrk-bench" }
  if cookie ~= "" then h["Cookie"] = "__Host-session=" .. cookie end
  if origin then h["Origin"] = origin end
  if body or current then h["Content-Type"] = "application/json" end
  return h
end

function request()
  local b = body
  if current then
    b = string.format('{"current_password":"%s","new_password":"%s","sign_out_other_sessions":false}', current, other)
  end
  return wrk.format(method, nil, headers(), b) -- nil: the path of the URL given to wrk
end

if users_file and users_file ~= "" then
  function response(status, hdrs, resp_body)
    if status == 200 then current, other = other, current end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50_us=%d p99_us=%d requests=%d duration_us=%d bad_status=%d socket_errors=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout))
end
