"""bench_sampler.py — how long a drip-draw-v1 draw takes, against `SELECT count(*)` with the same filter,
and the sampler's peak RSS while drawing.

The population is written straight into the sampler's projection (sampler.target) with generate_series —
BENCH_ROWS rows (default 1 000 000) with random-looking 18-character keys, so that key order and insertion
order are unrelated as in real data — then ANALYZEd: this measures the draw itself (two streaming passes
over a server-side cursor, SHA-256 per line and per ticket, the per-stratum heaps, storing the record and
its events), not the registry import that `bench_registry.py` measures.

A 1 % stratified draw under a seed-000-like scope (status 存续/在业, established before 2022-12-31, within
the lead department's region) is run with the default plan (DRIP_SAMPLER_SCAN=sort: sequential scan and
sort) and again, as a redraw, with DRIP_SAMPLER_SCAN=index (the primary key in key order). Prints one line
per measurement.

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... BENCH_ROWS=10000000 python3 tests/bench/bench_sampler.py
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
import jsutil  # noqa: E402
import pb_sampler as ps  # noqa: E402
import test_sampler as T  # noqa: E402
from drip_world import load_reference  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))

FILL = """
INSERT INTO sampler.target (key, version, valid_from, uscc, kind, region, industry, ownership,
                            registered_capital, established, status, credit_class, tags, owner)
SELECT k, 1, now() - interval '1 day', k, 1 + (i %% 10 = 0)::int,
       '13' || lpad((1 + i %% 11)::text, 2, '0') || '02', 'C1311', 1, (i %% 1000) * 10000,
       date '2000-01-01' + (i %% 9000), 1 + (i %% 3 = 0)::int * 3, (i / 7) %% 5, '{}', '130102SCJ'
FROM generate_series(1, %d) i,
     LATERAL (SELECT '9113' || upper(substr(md5(i::text), 1, 14)) AS k) x;
ANALYZE sampler.target;
"""

COUNT = """
SELECT count(*) FROM sampler.target
 WHERE valid_from <= to_timestamp(%d / 1000.0) AND valid_to > to_timestamp(%d / 1000.0) AND NOT retired
   AND kind = 1 AND region LIKE '13%%' AND status = ANY('{1,2}'::smallint[])
   AND established <= '2022-12-31'::date
"""


def psql(s, sql):
    return harness._psql(s._admin(s.db), sql, timeout=3 * 3600)


def draw_line(log, n):
    lines = [ln for ln in log.splitlines() if '"draw.done"' in ln]
    return lines[n - 1] if len(lines) >= n else None


def main():
    T._ensure_sampler_role()
    with harness.Scratch(daemons=["registry", "sampler"]) as s:
        s.start("registry")
        load_reference(s)
        w = T.World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
        s.start("sampler", extra_env=T.FAST_ENV)
        t0 = time.perf_counter()
        psql(s, FILL % ROWS)
        print("filled sampler.target with %d rows in %.1f s" % (ROWS, time.perf_counter() - t0), flush=True)

        at = T.now_ms()
        time.sleep(1)
        t0 = time.perf_counter()
        (n,), = psql(s, COUNT % (at, at))
        t_count = time.perf_counter() - t0
        t0 = time.perf_counter()
        psql(s, COUNT % (at, at))
        t_count2 = time.perf_counter() - t0
        print("SELECT count(*) with the same filter: %s rows in %.2f s (again: %.2f s)" % (n, t_count, t_count2),
              flush=True)

        nonce = os.urandom(32)
        scope = ps.target_filter(statuses=[1, 2], established_before="2022-12-31")
        t = w.publish_task("BENCH1", nonce, ratio_ppm=10000, scope=scope)
        second = os.environ.get("BENCH_SECOND_SCAN", "index")
        for run, env in ((1, {}), (2, {"DRIP_SAMPLER_SCAN": second})):
            if run == 2:
                s.stop("sampler")
                s.start("sampler", extra_env=dict(T.FAST_ENV, **env))
            t0 = time.perf_counter()
            if run == 1:
                w.order(t, nonce, at_ms=at, force=True, reason="bench")
            else:
                w.order(t, nonce, at_ms=at, force=True, reason="bench", redraw=True)
            w.wait_event(ps.DRAW_COMPLETED, "BENCH1", draw_no=run, timeout=7200)
            wall = time.perf_counter() - t0
            rec = w.draw_get("BENCH1", draw_no=run) if ROWS <= 2000000 else None
            m = s.metrics("sampler")
            line = draw_line(s.log("sampler"), run)
            ms = re.search(r"pass 1 (\d+) ms, pass 2 (\d+) ms, total (\d+) ms", line or "")
            print("draw %d (%s plan): population %s, selected %s; pass 1 %s ms, pass 2 %s ms, draw total %s ms "
                  "(order to event %.1f s); peak RSS %.1f MiB"
                  % (run, env.get("DRIP_SAMPLER_SCAN", "sort"), m.get("drip_sampler_last_draw_population"),
                     len(rec["record"]["selected"]) if rec else "?", *(ms.groups() if ms else ("?",) * 3), wall,
                     m.get("process_max_resident_memory_bytes", 0) / 2**20), flush=True)
        explain = psql(s, "EXPLAIN " + COUNT % (at, at))
        print("count plan:", " | ".join(r[0] for r in explain[:4]))


if __name__ == "__main__":
    main()
