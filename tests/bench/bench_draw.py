"""bench_draw.py — how long a drip-draw-v1 draw takes, against `SELECT count(*)` with the same filter on the same
data in the same run, and the sampler's peak RSS. The goal (docs/draw.md §14): draw <= 2 x count(*), peak RSS
<= 64 MiB.

For each size of BENCH_ROWS (comma-separated; default "1000000,10000000", 4-6 minutes on 2 cores) a fresh
scratch world gets that many targets written straight into the sampler's projection (sampler.target) with
generate_series — random-looking 18-character keys, so that key order and insertion order are unrelated as in
real data — then VACUUM ANALYZE, so that the count and the draw find the table in the same state (hint bits,
statistics). This measures the draw itself (reading the population, sorting it, SHA-256 per line and per ticket,
the per-stratum heaps, storing the record and its events), not the registry import that bench_registry.py
measures.

A 1 % stratified draw under a seed-000-like scope (status 存续/在业, established before 2022-12-31, within the
lead department's region: 56 % of the rows) is made BENCH_DRAWS times (default 2: a draw, then redraws), each
between two timings of the count; the median count is the reference. The first draw after the sampler starts
also pays for its database connection's first scan of the table (docs/draw.md §14). Per size: the counts, one
line per draw — pass 1 (read, sort, runs, bytes spilled) / pass 2 / store / total ms from the sampler's
"draw.done" line, the order-to-event wall time, both as multiples of the count, the peak RSS — and a RESULT line.

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... python3 tests/bench/bench_draw.py
    BENCH_ROWS=1000000 ...                    only the 1 M case
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
import jsutil  # noqa: E402
import pb_sampler as ps  # noqa: E402
import test_sampler as T  # noqa: E402
from drip_world import load_reference  # noqa: E402

SIZES = [int(x) for x in os.environ.get("BENCH_ROWS", "1000000,10000000").split(",") if x.strip()]
DRAWS = int(os.environ.get("BENCH_DRAWS", "2"))

FILL = """
INSERT INTO sampler.target (key, version, valid_from, uscc, kind, region, industry, ownership,
                            registered_capital, established, status, credit_class, tags, owner)
SELECT k, 1, now() - interval '1 day', k, 1 + (i %% 10 = 0)::int,
       '13' || lpad((1 + i %% 11)::text, 2, '0') || '02', 'C1311', 1, (i %% 1000) * 10000,
       date '2000-01-01' + (i %% 9000), 1 + (i %% 3 = 0)::int * 3, (i / 7) %% 5, '{}', '130102SCJ'
FROM generate_series(1, %d) i,
     LATERAL (SELECT '9113' || upper(substr(md5(i::text), 1, 14)) AS k) x;
VACUUM ANALYZE sampler.target;
"""

# The WHERE clause the sampler runs for this task (population.c + the TargetFilter), without ORDER BY.
COUNT = """
SELECT count(*) FROM sampler.target
 WHERE valid_from <= to_timestamp(%d::bigint / 1000.0) AND valid_to > to_timestamp(%d::bigint / 1000.0)
   AND NOT retired AND kind = 1::smallint AND region LIKE '13%%'
   AND status = ANY('{1,2}'::smallint[]) AND established <= '2022-12-31'::date
"""

DONE = re.compile(r"pass 1 (\d+) ms, pass 2 (\d+) ms, total (\d+) ms(?: \(read (\d+) ms, sort (\d+) ms in (\d+) "
                  r"run\(s\), (\d+) bytes spilled; store (\d+) ms\))?")


def psql(s, sql):
    return harness._psql(s._admin(s.db), sql, timeout=3 * 3600)


def timed_count(s, at):
    """(rows, server-side ms) of the count, timed by psql's \\timing (no connection set-up in it)."""
    out = psql(s, "\\timing on\n" + COUNT % (at, at))
    n = int(out[0][0])
    ms = [float(m.group(1)) for r in out for m in [re.match(r"Time: ([\d.]+) ms", r[0])] if m]
    return n, ms[-1]


def done_line(log, n):
    lines = [ln for ln in log.splitlines() if '"draw.done"' in ln]
    return lines[n - 1] if len(lines) >= n else ""


def bench(rows):
    with harness.Scratch(daemons=["registry", "sampler"]) as s:
        s.start("registry")
        load_reference(s)
        w = T.World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
        env = {k: v for k, v in T.FAST_ENV.items() if k != "DRIP_SAMPLER_SORT_RUN_ROWS"}  # default runs
        s.start("sampler", extra_env=env)
        t0 = time.perf_counter()
        psql(s, FILL % rows)
        print("%d rows: filled sampler.target (and VACUUM ANALYZE) in %.1f s" % (rows, time.perf_counter() - t0),
              flush=True)

        at = T.now_ms()
        time.sleep(1)
        n, _ = timed_count(s, at)  # warms the cache as the draw will find it
        nonce = os.urandom(32)
        scope = ps.target_filter(statuses=[1, 2], established_before="2022-12-31")
        t = w.publish_task("BENCH1", nonce, ratio_ppm=10000, scope=scope)
        counts, results = [], []
        for run in range(1, DRAWS + 1):
            counts.append(timed_count(s, at)[1])
            t0 = time.perf_counter()
            w.order(t, nonce, at_ms=at, force=True, reason="bench", redraw=run > 1)
            w.wait_event(ps.DRAW_COMPLETED, "BENCH1", draw_no=run, timeout=7200)
            wall = time.perf_counter() - t0
            m = DONE.search(done_line(s.log("sampler"), run))
            results.append((run, wall, m.groups() if m else ("?",) * 8))
        counts.append(timed_count(s, at)[1])
        count_ms = statistics.median(counts)
        m = s.metrics("sampler")
        rss = m.get("process_max_resident_memory_bytes", 0) / 2**20
        pop = int(m.get("drip_sampler_last_draw_population", 0))
        assert pop == n, "the draw's population (%d) is not the count (%d)" % (pop, n)
        print("%d rows: count(*) = %d rows, %s ms (median %.0f ms)"
              % (rows, n, " / ".join("%.0f" % c for c in counts), count_ms), flush=True)
        for run, wall, (p1, p2, tot, rd, so, runs, spilled, store) in results:
            ratio = float(tot) / count_ms if tot != "?" else float("nan")
            print("%d rows: draw %d: pass 1 %s ms (read %s, sort %s in %s run(s), %.0f MiB spilled), pass 2 %s ms, "
                  "store %s ms, total %s ms = %.2f x count; order to event %.2f s = %.2f x count; peak RSS %.1f MiB"
                  % (rows, run, p1, rd, so, runs, int(spilled or 0) / 2**20, p2, store, tot, ratio, wall,
                     wall * 1000 / count_ms, rss), flush=True)
        tots = [float(r[2][2]) for r in results if r[2][2] != "?"]
        print("RESULT %d rows: draw %.2f-%.2f s, count %.2f s, ratio %.2f-%.2f (goal <= 2), peak RSS %.1f MiB "
              "(goal <= 64)" % (rows, min(tots) / 1000, max(tots) / 1000, count_ms / 1000, min(tots) / count_ms,
                                max(tots) / count_ms, rss), flush=True)


def main():
    T._ensure_sampler_role()
    for rows in SIZES:
        bench(rows)


if __name__ == "__main__":
    main()
