"""Queries: show one target (current and as of a past time), count by structured filter (checked
against an independent count over the CSV), versions on update and retirement, region visibility."""
import datetime
import json
import time

import harness
from drip_world import DEPT_A, DEPT_B, read_csv, summary, world


def cst(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone(datetime.timedelta(hours=8))).strftime(
        "%Y-%m-%dT%H:%M:%S")


def count(s, *args, **who):
    r = s.dripctl("registry", "count", "--kind", "target", *args, **who)
    return int(r.stdout.strip())


def test_show_count_versions_as_of():
    with world() as s:
        f = s.path("e.csv")
        s.dripctl("gen", "enterprises", "--count", "3000", "--seed", "21", "--regions", "130000", "-o", f)
        rows = read_csv(f)
        assert summary(s.dripctl("registry", "import", "--kind", "enterprise", f, **DEPT_A).stdout)["created"] == 3000

        # counts against an independent count of the CSV (operator sees everything)
        def expect(pred):
            return sum(1 for r in rows if pred(r))
        assert count(s) == 3000
        assert count(s, "--region", "130100") == expect(lambda r: r["region"].startswith("1301"))
        assert count(s, "--status", "存续,在业", "--credit", "C,D") == expect(
            lambda r: r["status"] in ("存续", "在业") and r["credit_class"] in ("C", "D"))
        assert count(s, "--established-before", "2022-12-31", "--capital-min", "5000000",
                     "--capital-max", "10000000", "--ownership", "domestic") == expect(
            lambda r: r["established"] and r["established"] <= "2022-12-31" and r["registered_capital"]
            and 5000000 <= int(r["registered_capital"]) <= 10000000 and r["ownership"] in ("domestic", "内资"))
        assert count(s, "--industry", "C") == expect(lambda r: r["industry"].startswith("C"))
        tagged = expect(lambda r: "食品经营" in r["tags"].split(";"))
        assert tagged > 0 and count(s, "--tag", "食品经营") == tagged
        bad = s.dripctl("registry", "count", "--kind", "target", "--region", "139999x", check=False)
        assert bad.returncode != 0 and "region" in bad.stderr, bad

        # a district department sees its own subtree only
        mine = expect(lambda r: r["region"] == "130102")
        assert count(s, **DEPT_A) == mine
        assert count(s, **DEPT_B) == expect(lambda r: r["region"] == "130534")
        assert count(s, "--region", "130000", **DEPT_A) == mine  # a filter cannot widen the scope

        # show, update, as-of
        r0 = rows[7]
        shown = json.loads(s.dripctl("registry", "show", r0["uscc"]).stdout)
        assert shown["version"] == 1 and shown["target"]["name"] == r0["name"], shown
        # --as-of has whole seconds: the first version must be a second older than t_before, and the
        # second a second younger (a target created in the same second as t_before was missed)
        time.sleep(1.2)
        t_before = time.time()
        time.sleep(1.2)
        g = s.path("one.csv")
        with open(g, "w", encoding="utf-8") as out:
            out.write(",".join(r0.keys()) + "\n")
            r1 = dict(r0, name=r0["name"] + "分公司", credit_class="D")
            out.write(",".join(r1.values()) + "\n")
        assert summary(s.dripctl("registry", "import", "--kind", "enterprise", g, **DEPT_A).stdout)["updated"] == 1
        now = json.loads(s.dripctl("registry", "show", r0["uscc"]).stdout)
        assert now["version"] == 2 and now["target"]["name"] == r1["name"], now
        then = json.loads(s.dripctl("registry", "show", r0["uscc"], "--as-of", cst(t_before)).stdout)
        assert then["version"] == 1 and then["target"]["name"] == r0["name"], then
        assert count(s, "--credit", "D", "--as-of", cst(t_before)) == expect(lambda r: r["credit_class"] == "D")

        # retire: gone now, still there as of before
        t_mid = time.time()
        time.sleep(1.2)
        s.dripctl("registry", "retire", "--kind", "target", r0["uscc"], "--reason", "注销", **DEPT_A)
        assert count(s) == 2999
        assert count(s, "--as-of", cst(t_mid)) == 3000
        gone = json.loads(s.dripctl("registry", "show", r0["uscc"]).stdout)
        assert gone["version"] == 3 and gone["retired"] is True, gone
        missing = s.dripctl("registry", "show", "91330100716105852F", check=False)
        assert missing.returncode == 4, missing

        # lists
        depts = s.dripctl("registry", "list", "--kind", "department").stdout
        assert "130102SCJ" in depts and "130534SWU" in depts
        hebei = s.dripctl("registry", "list", "--kind", "region", "--region", "130000").stdout.splitlines()
        assert len(hebei) > 150 and all(line.startswith("13") for line in hebei)


if __name__ == "__main__":
    harness.main(globals())
