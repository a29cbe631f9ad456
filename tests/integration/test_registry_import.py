"""Registry import through the bus: 10 000 enterprises with ~3% bad rows -> exactly the good ones
stored, each bad row reported with its reason; re-importing changes nothing and emits nothing."""
import collections

import harness
from drip_world import (DEPT_A, enterprise_row_valid, event_changes, read_csv, region_codes, summary,
                        world)


def test_import_10k_with_bad_rows_then_reimport():
    with world() as s:
        f = s.path("enterprises.csv")
        g = s.dripctl("gen", "enterprises", "--count", "10000", "--seed", "11", "--regions", "130000",
                      "--bad-ratio", "0.03", "-o", f)
        rows = read_csv(f)
        assert len(rows) == 10000
        regions = region_codes(s.source)
        verdicts = [enterprise_row_valid(r, regions) for r in rows]
        bad_lines = {i + 2 for i, (ok, _) in enumerate(verdicts) if not ok}  # header is line 1
        assert 200 <= len(bad_lines) <= 400, (len(bad_lines), g.stderr)

        rej = s.path("rejects.csv")
        r = s.dripctl("registry", "import", "--kind", "enterprise", "--rejects", rej, f, **DEPT_A)
        sm = summary(r.stdout)
        assert sm["rows"] == 10000, sm
        assert sm["created"] == 10000 - len(bad_lines), (sm, len(bad_lines))
        assert sm["rejected"] == len(bad_lines), sm
        rejects = read_csv(rej)
        assert {int(x["line"]) for x in rejects} == bad_lines
        # each bad row carries the reason an independent validator gives it, and a readable text
        for x in rejects:
            ok, expected = verdicts[int(x["line"]) - 2]
            assert x["error"] == expected, (x, expected)
            assert len(x["reason"]) > 8 and ":" in x["reason"], x
        by_error = collections.Counter(x["error"] for x in rejects)
        assert len(by_error) >= 4, by_error  # the generator varies its faults

        good = {rows[i]["uscc"] for i, (ok, _) in enumerate(verdicts) if ok}
        stored = {k for (k,) in s.psql("SELECT key FROM registry.target WHERE valid_to IS NULL")}
        assert stored == good
        # every stored row is exactly version 1 and matches its CSV row
        sample = rows[[i for i, (ok, _) in enumerate(verdicts) if ok][123]]
        (name, cap, est, cls), = s.psql(
            "SELECT name, coalesce(registered_capital::text, ''), coalesce(established::text, ''),"
            " credit_class FROM registry.target WHERE key = '%s'" % sample["uscc"])
        assert (name, cap, est) == (sample["name"], sample["registered_capital"], sample["established"])
        assert cls == str(" ABCD".index(sample["credit_class"]) if sample["credit_class"] else 0)

        # events: one change per stored record, none twice
        harness.wait_for(lambda: len(event_changes(s)) >= len(good), timeout=30,
                         what="registry events relayed")
        changes = event_changes(s)
        keys = [c[0] for c in changes]
        assert len(keys) == len(set(keys)) == len(good)
        assert set(keys) == good
        stream = s.streams()[0]
        msgs_before = s.stream_msgs(stream)
        history_before = s.psql("SELECT count(*) FROM registry.target")[0][0]

        # re-import: nothing changes, no event
        r2 = s.dripctl("registry", "import", "--kind", "enterprise", "--rejects", s.path("rej2.csv"), f,
                       **DEPT_A)
        sm2 = summary(r2.stdout)
        assert sm2["created"] == 0 and sm2["updated"] == 0, sm2
        assert sm2["unchanged"] == len(good), sm2
        assert sm2["rejected"] == len(bad_lines), sm2
        assert s.psql("SELECT count(*) FROM registry.target")[0][0] == history_before
        assert s.psql("SELECT count(*) FROM registry.outbox")[0][0] == "0"
        assert s.stream_msgs(stream) == msgs_before


if __name__ == "__main__":
    harness.main(globals())
