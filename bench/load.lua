-- wrk script of `make bench-load` (scripts/bench-load.sh): a mix of imports and reads.
-- Every 10th request of a connection's thread POSTs a new 10-result document for test
-- "load" (student numbers unique per thread and request, so every 201 adds 10 marks); the
-- others alternate GET /results/load/aggregate and GET /results/load?limit=20. Each
-- wrk's argument after "--" names the run. Each
-- thread counts 201s, other 2xx and everything else; done() prints the totals and p99 in
-- a line the script reads: "load: created=N ok=N errors=N p99_ms=X".

local threads = {}

function setup(thread)
    thread:set("id", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    n, created, ok, errors = 0, 0, 0, 0
    run = args[1] or "run" -- keeps student numbers of different runs apart
end

local function document(thread_id, seq)
    local parts = {"<mcq-test-results>"}
    for i = 1, 10 do
        local student = string.format("%s-%d-%d-%d", run, thread_id, seq, i)
        parts[#parts + 1] = string.format(
            "<mcq-test-result><first-name>F%d</first-name><last-name>L%d</last-name>" ..
            "<student-number>%s</student-number><test-id>load</test-id>" ..
            "<summary-marks available=\"20\" obtained=\"%d\"/></mcq-test-result>",
            i, seq, student, (seq * 7 + i) % 21)
    end
    parts[#parts + 1] = "</mcq-test-results>"
    return table.concat(parts)
end

function request()
    n = n + 1
    if n % 10 == 0 then
        return wrk.format("POST", "/import", {["Content-Type"] = "text/xml+markr"}, document(id, n))
    elseif n % 2 == 0 then
        return wrk.format("GET", "/results/load/aggregate")
    end
    return wrk.format("GET", "/results/load?limit=20")
end

function response(status, headers, body)
    if status == 201 then
        created = created + 1
    elseif status >= 200 and status < 300 then
        ok = ok + 1
    else
        errors = errors + 1
    end
end

function done(summary, latency, requests)
    local c, o, e = 0, 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("created")
        o = o + t:get("ok")
        e = e + t:get("errors")
    end
    e = e + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    io.write(string.format("load: created=%d ok=%d errors=%d p99_ms=%.2f p50_ms=%.2f requests=%d rps=%.0f\n",
        c, o, e, latency:percentile(99) / 1000, latency:percentile(50) / 1000, summary.requests,
        summary.requests / (summary.duration / 1e6)))
end
