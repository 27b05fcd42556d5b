-- bench/lib/load.py's wrk script: `done` prints "WRKJSON {...}", all that is read. With WRK_PATHS
-- (a file of paths), thread k of n requests paths k, k+n, ... in turn, WRK_BUST appends a query
-- parameter never sent before, and non-2xx answers and page-cache hits are counted; else no Lua
-- work. WRK_METHOD (GET by default) is the method of every request.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

if os.getenv("WRK_PATHS") then
   function init(args)
      paths, bust, method = {}, os.getenv("WRK_BUST"), os.getenv("WRK_METHOD") or "GET"
      for line in io.lines(os.getenv("WRK_PATHS")) do
         if #line > 0 then paths[#paths + 1] = line end
      end
      nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
      sent, responses, hits, non200 = 0, 0, 0, 0
   end

   function request()
      local path = paths[(sent * nthreads + id) % #paths + 1]
      sent = sent + 1
      if bust and #bust > 0 then
         local sep = path:find("?", 1, true) and "&" or "?"
         path = path .. sep .. "_bench=" .. bust .. "-" .. id .. "-" .. sent
      end
      return wrk.format(method, path)
   end

   function response(status, headers, body)
      responses = responses + 1
      if status < 200 or status > 299 then non200 = non200 + 1 end
      if headers["X-Page-Cache"] == "hit" then hits = hits + 1 end
   end
end

local function total(name)  -- over the threads; null without WRK_PATHS
   local sum = nil
   for _, thread in ipairs(threads) do
      local value = thread:get(name)
      if value then sum = (sum or 0) + value end
   end
   return sum and tostring(sum) or "null"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, ' ..
      '"responses": %s, "hits": %s, "non200": %s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, total("responses"), total("hits"), total("non200")))
end
