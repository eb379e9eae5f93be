-- wrk script of the USSD benchmark: every connection plays whole tip sessions, screen by screen.
--
--   wrk -t N -c N -d 10s --latency -s bench/ussd/sessions.lua URL/ussd -- MODE FIRST [RATE]
--
-- MODE is `flow` (the hotline: every screen must be `CON `, the last `END ... Ref ...`) or `bare`
-- (the baseline: every answer must be `CON `). FIRST numbers this run's sessions, so no two runs
-- share a sessionId or a phone number. RATE (requests/s over all connections) paces each
-- connection on its own clock through `delay()`; without it each connection sends its next
-- request as soon as the answer arrives (a closed loop).
--
-- wrk gives `response()` no connection, so each thread drives exactly one connection (`-t` equals
-- `-c`): its answer is the one to the request it sent last. Each session has its own sessionId and
-- phone number; `text` grows as Africa's Talking sends it ("", "1", "1*1", ...), form-encoded.
-- The script never adapts to the answers, so both servers get exactly the same requests.
-- `done()` prints one line, `WRK {json}`, that run.py reads.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clock, timespec *now);
]]
local timespec = ffi.new("timespec")

local function now_ms()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

-- A full anonymous tip (the main menu's numbering, README "Dial it"): report, forced labour, the 2nd county, a place,
-- skip the description, not in danger, no children, no call-back, send.
local INPUTS = { "", "1", "1", "2", "Market street", "99", "2", "2", "2", "1" }
local SESSIONS_PER_THREAD = 1000000 -- a thread's share of sessionIds and phone numbers

local function urlencode(value)
  return (value:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- The `text` of each request: "", then every input so far joined with `*`, URL-encoded.
local TEXTS = {}
do
  local typed = {}
  for step = 1, #INPUTS do
    if step > 1 then typed[#typed + 1] = INPUTS[step] end
    TEXTS[step] = urlencode(table.concat(typed, "*"))
  end
end

-- setup() and done() run in the main script; everything else in each thread's own copy.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

local flow, session, step, form, interval, due
local answers, bad, sessions_ended, samples = 0, 0, 0, {}

local function new_session()
  session = session + 1
  step = 1
  form = "sessionId=ATUid_wrk" .. string.format("%012d", session)
      .. "&serviceCode=%2A384%2A1234%23"
      .. "&phoneNumber=%2B2547" .. string.format("%08d", session % 100000000)
      .. "&networkCode=63902&text="
end

function init(args)
  flow = args[1] == "flow"
  local first = tonumber(args[2] or "0")
  local rate = tonumber(args[3] or "0")
  local connections = tonumber(args[4] or "1")
  session = first + id * SESSIONS_PER_THREAD
  step = 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  if rate > 0 then
    interval = 1000 * connections / rate
    due = now_ms() + interval * id / connections -- threads spread evenly over one interval
  end
  new_session()
end

function request()
  return wrk.format(nil, "/ussd", nil, form .. TEXTS[step])
end

function delay()
  if not interval then return 0 end
  local wait = due - now_ms()
  due = due + interval
  if wait < 0 then return 0 end -- late: send now, the schedule does not slip
  return wait
end

local function check(status, body)
  if status ~= 200 then return "status " .. status end
  local head = body:sub(1, 4)
  if not flow then
    return head ~= "CON " and "not CON: " .. body:sub(1, 60) or nil
  end
  if step < #INPUTS then
    return head ~= "CON " and "screen " .. step .. " not CON: " .. body:sub(1, 60) or nil
  end
  if head ~= "END " or not body:find("Ref", 1, true) then
    return "last screen not END with Ref: " .. body:sub(1, 60)
  end
  return nil
end

function response(status, headers, body)
  answers = answers + 1
  local problem = check(status, body)
  if problem then
    bad = bad + 1
    if #samples < 3 then samples[#samples + 1] = problem:gsub("[%c\"\\]", " ") end
  end
  if step == #INPUTS then
    sessions_ended = sessions_ended + 1
    new_session()
  else
    step = step + 1
  end
  -- wrk reads a thread's globals from done() by name, with thread:get
  _answers, _bad, _ended, _samples = answers, bad, sessions_ended, table.concat(samples, " | ")
end

function done(summary, latency, requests)
  local answered, bad_answers, ended, problems = 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    answered = answered + (thread:get("_answers") or 0)
    bad_answers = bad_answers + (thread:get("_bad") or 0)
    ended = ended + (thread:get("_ended") or 0)
    local sample = thread:get("_samples")
    if sample and sample ~= "" and #problems < 5 then problems[#problems + 1] = sample end
  end
  local e = summary.errors
  local out = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"answers":%d', answered),
    string.format('"bad_answers":%d', bad_answers),
    string.format('"sessions_ended":%d', ended),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
      e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"problems":"%s"', table.concat(problems, " | ")),
  }
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    out[#out + 1] = string.format('"p%s_us":%d', (tostring(p):gsub("%.", "_")), latency:percentile(p))
  end
  out[#out + 1] = string.format('"max_us":%d', latency.max)
  out[#out + 1] = string.format('"mean_us":%.1f', latency.mean)
  io.write("WRK {" .. table.concat(out, ",") .. "}\n")
end
