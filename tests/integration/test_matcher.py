"""drip-matcher end to end: registry + matcher running; the planner's and the sampler's parts are played by
the test (a TASK_PUBLISHED on <PREFIX>_PLANNER, a DRAW_SETTLED on <PREFIX>_SAMPLER), so that the confirmed
targets and the seed are fully controlled. Every run is compared with the independent reference
tests/integration/match_reference.py on the published pool lines and exclusions, and checked against the rules
(pool, tags, recusal, rotation, caps, teams, experts, fallback, unstaffed, direct assignment).

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... python3 tests/integration/test_matcher.py [test_name ...]
"""
import csv
import hashlib
import random
import secrets

import harness
import jsutil
import match_reference
import pb_matcher as pm
import pb_sampler as ps
from drip_world import load_reference, summary
from test_sampler import make_uscc

PLAN = "2024-130100-130100SCJ-1"
LEAD = dict(dept="130100SCJ", region="130100")
SCJ = dict(dept="130102SCJ", region="130102")
SWJ = dict(dept="130102SWJ", region="130102")
CITY = dict(dept="130100SCJ", region="130100")
NEIGH = dict(dept="130105SCJ", region="130105")
OPS = dict(dept="OPS", region="000000")


def _ensure_role(name):
    e = harness.env()
    if e.get("DRIP_PGPW_" + name):
        return
    pw = secrets.token_hex(16)
    harness._psql(harness._conninfo(e["DRIP_PG_ADMIN"], dbname="postgres"),
                  "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'drip_%s') THEN"
                  " CREATE ROLE drip_%s LOGIN; END IF; END $$;\n"
                  "ALTER ROLE drip_%s WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s';\n"
                  "ALTER ROLE drip_%s SET search_path = %s;\n" % (name, name, name, pw, name, name))
    e["DRIP_PGPW_" + name] = pw


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


def insp(id_, name, region, quals="", expiry="2030-12-31", expert="", team="", active="", recusals=""):
    return dict(id=id_, name=name, region=region, cert_no="C" + id_, cert_expiry=expiry, qualifications=quals,
                expert=expert, team=team, active=active, recusals=recusals)


class World:
    def __init__(self, s):
        self.s = s
        self.planner_stream = s.prefix.upper() + "_PLANNER"
        self.sampler_stream = s.prefix.upper() + "_SAMPLER"
        self.matcher_stream = s.prefix.upper() + "_MATCHER"

    def importf(self, kind, rows, who):
        path = self.s.path("%s-%s-%s.csv" % (kind, who["dept"], secrets.token_hex(3)))
        write_csv(path, rows)
        r = self.s.dripctl("registry", "import", "--kind", kind, "--rejects", path + ".rej", path, **who)
        assert summary(r.stdout)["rejected"] == 0, (r.stdout, open(path + ".rej").read())

    def wait_projection(self):
        def done():
            (rr,), = self.s.psql("SELECT count(*) FROM registry.record WHERE valid_to IS NULL")
            (mr,), = self.s.psql("SELECT count(*) FROM matcher.ref_record")
            (rt,), = self.s.psql("SELECT count(*) FROM registry.target WHERE valid_to IS NULL")
            (mt,), = self.s.psql("SELECT count(*) FROM matcher.target")
            return rr == mr and rt == mt
        harness.wait_for(done, timeout=120, interval=0.3, what="matcher projection caught up")

    def publish_task(self, code, items, coop, k=2, window=("2024-03-01", "2024-04-30"), result_workdays=5):
        t = ps.task(code, LEAD["dept"], kind=ps.JOINT, cooperating_depts=coop, items=items, ratio_ppm=10000,
                    inspectors_per_check=k, window_start=window[0], window_end=window[1],
                    result_workdays=result_workdays, plan_code=PLAN, commitment="00" * 32)
        mid = "planner:%s" % secrets.token_hex(8)
        ev = ps.planner_event(ps.envelope(mid, LEAD["dept"], LEAD["region"]), ps.TASK_PUBLISHED, t)
        with self.s.nats() as nc:
            jsutil.publish(nc, "%s.evt.planner.13.01.00.%s.task" % (self.s.prefix, LEAD["dept"]), ev, mid)

    def settle(self, code, seed, participants, confirmed, rejected=(), part_size=5000, tag=""):
        chunks = [confirmed[i:i + part_size] for i in range(0, len(confirmed), part_size)] or [[]]
        with self.s.nats() as nc:
            for i, ch in enumerate(chunks):
                mid = "sampler-%s-settled%s-%d" % (hashlib.sha256(code.encode()).hexdigest()[:16], tag, i + 1)
                ev = pm.settled_event(ps.envelope(mid, LEAD["dept"], LEAD["region"]), code, PLAN, seed,
                                      participants, ch, rejected if i == 0 else (), part=i + 1, parts=len(chunks))
                jsutil.publish(nc, "%s.evt.sampler.13.01.00.%s.settled" % (self.s.prefix, LEAD["dept"]), ev, mid)

    def request(self, verb, payload, who, schema, timeout=60):
        r = who["region"]
        subj = "%s.match.cmd.%s.%s.%s.%s.%s" % (self.s.prefix, r[:2], r[2:4], r[4:], who["dept"], verb)
        with self.s.nats() as nc:
            _, data = nc.request(subj, payload, timeout=timeout)
        return ps.decode_msg(data, schema)

    def env(self, who):
        return ps.envelope(secrets.token_hex(8), who["dept"], who["region"])

    def wait_matched(self, code, timeout=120):
        def done():
            rep = self.request("match_get", pm.match_query(self.env(LEAD), code, PLAN, limit=1), LEAD, pm.MATCH_REPLY)
            return rep if not rep.get("error") else None
        try:
            return harness.wait_for(done, timeout=timeout, interval=0.3, what="task %s matched" % code)
        except harness.HarnessError as e:
            raise harness.HarnessError("%s; matcher log:\n%s" % (e, "\n".join(self.s.log("matcher").splitlines()[-30:])))

    def forms(self, code):
        out, off = [], 0
        while True:
            rep = self.request("match_get", pm.match_query(self.env(LEAD), code, PLAN, offset=off, limit=2000),
                               LEAD, pm.MATCH_REPLY)
            assert not rep.get("error"), rep
            out += rep.get("forms", [])
            off = rep.get("next_offset", 0)
            if not off:
                return rep["run"], out

    def pool(self, code):
        out, after = b"", None
        while True:
            rep = self.request("match_pool", pm.match_query(self.env(LEAD), code, PLAN, after=after), LEAD,
                               pm.POOL_PAGE)
            assert not rep.get("error"), rep
            out += rep.get("lines", b"")
            after = rep.get("next")
            if not after:
                return out

    def report(self, code):
        rep = self.request("match_report", pm.match_query(self.env(LEAD), code, PLAN), LEAD, pm.MATCH_REPORT)
        assert not rep.get("error"), rep
        return rep

    def events(self):
        with self.s.nats() as nc:
            msgs = jsutil.read_stream(nc, self.matcher_stream, 1)
        out = []
        for m in msgs:
            ev = ps.decode_msg(m["data"], pm.MATCHER_EVENT)
            ev["subject"], ev["msg_id"] = m["subject"], m["headers"].get("Nats-Msg-Id")
            out.append(ev)
        return out


def check_reference(run, forms, pool_lines):
    """The run recomputed by match_reference from the published data only: every slot, unit by unit."""
    assert hashlib.sha256(pool_lines).hexdigest() == run["pool_digest"]
    depts = [dict(dept=d["dept"], required=d.get("required", 0), experts=d.get("experts_required", 0),
                  teams=d.get("teams", False)) for d in run["depts"]]
    fin = [dict(uscc=f["uscc"], region=f["target_region"],
                exclusions=[(sl["dept"], x["inspector"], x["reason"]) for sl in f["depts"]
                            for x in sl.get("exclusions", [])]) for f in forms]
    ref = match_reference.match(run["seed"], run["task_code"], depts, pool_lines, fin)
    by = {f["uscc"]: f for f in ref["forms"]}
    for f in forms:
        r = by[f["uscc"]]
        assert f["seq"] == r["seq"] and f["target_ticket"] == r["ticket"], (f["uscc"], f["seq"], r["seq"])
        for sl in f["depts"]:
            rs = r["slots"][sl["dept"]]
            got = [(x["inspector"], x["role"], x.get("load", 0), x["ticket"]) for x in sl.get("inspectors", [])
                   if x.get("source") != pm.DIRECT]
            want = [(p[0], p[1], p[3], p[4]) for p in rs["picks"]]
            assert got == want, (f["uscc"], sl["dept"], got, want)
            assert sl.get("short_by", 0) == rs["short_by"], (f["uscc"], sl["dept"])
            assert bool(sl.get("experts_short")) == bool(rs["experts_short"]), (f["uscc"], sl["dept"])
    return ref


def make_world():
    _ensure_role("matcher")
    s = harness.Scratch(daemons=["registry", "matcher"])
    try:
        s.start("registry")
        load_reference(s)
        w = World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
            jsutil.ensure_stream(nc, w.sampler_stream, [s.prefix + ".evt.sampler.>"])
        # fallbacks: the district SCJ falls back to the city's, then to its neighbour district's; the tax
        # bureau works in standing teams
        w.importf("department", [
            dict(code="130102SCJ", region="130102", name="石家庄市长安区市场监督管理局", active="true", draws_teams="",
                 parent_dept="130100SCJ", neighbour_depts="130105SCJ"),
            dict(code="130102SWJ", region="130102", name="国家税务总局石家庄市长安区税务局", active="true",
                 draws_teams="true", parent_dept="", neighbour_depts="")], OPS)
        w.importf("item", [dict(code="SP01", name="食品经营许可检查", level="general", legal_basis="",
                                methods="on_site", target_kind="enterprise", required_qualifications="食品",
                                experts="1")], SCJ)
        w.importf("item", [dict(code="SW01", name="发票使用检查", level="general", legal_basis="",
                                methods="on_site", target_kind="enterprise", required_qualifications="税务",
                                experts="")], SWJ)
        s.start("matcher")
        w.wait_projection()
    except BaseException:
        s.close(raise_errors=False)
        raise
    return s, w


def targets(w, n, seed=5, region="130102"):
    rnd = random.Random(seed)
    rows = [dict(uscc=make_uscc(rnd, region), name="测试企业%d有限公司" % i, kind="enterprise", region=region,
                 industry="C1311", ownership="domestic", registered_capital="5000000", established="2015-03-01",
                 status="存续", credit_class="B", tags="") for i in range(n)]
    w.importf("enterprise", rows, SCJ)
    return [r["uscc"] for r in rows]


def test_match_rules_reference_report_and_dispatch():
    """30 confirmed targets, two departments (individuals with experts; teams). Every form: the required members
    from the right department with the tags; never a recused inspector, an inactive one or an expired certificate;
    loads within the cap; experts on top; teams whole; the same result as the reference; the events per form and
    per inspector, on subjects carrying the region; the report."""
    s, w = make_world()
    with s:
        us = targets(w, 40)
        conf = us[:30]
        scj = [insp("S%02d" % i, "市场%02d" % i, "130102", quals="食品;执法") for i in range(10)]
        scj += [insp("S90", "无资质", "130102", quals="执法"),                       # unqualified
                insp("S91", "停用", "130102", quals="食品", active="false"),          # inactive
                insp("S92", "过期", "130102", quals="食品", expiry="2024-04-01"),      # expires inside the window
                insp("E01", "专家甲", "130102", quals="食品", expert="true"),
                insp("E02", "专家乙", "130102", quals="食品", expert="true"),
                insp("S99", "回避", "130102", quals="食品", recusals=";".join(conf[:3]))]
        w.importf("inspector", scj, SCJ)
        swj = [insp("T%d%d" % (t, i), "税务%d%d" % (t, i), "130102", quals="税务", team="TEAM%d" % t)
               for t, size in ((1, 3), (2, 2), (3, 2), (4, 1)) for i in range(size)]
        w.importf("inspector", swj, SWJ)
        w.wait_projection()
        w.publish_task("联2024M1", {SCJ["dept"]: ["SP01"], SWJ["dept"]: ["SW01"]}, [SCJ["dept"], SWJ["dept"]])
        seed = hashlib.sha256(b"m1").hexdigest()
        w.settle("联2024M1", seed, [SCJ["dept"], SWJ["dept"]], conf, rejected=us[30:32])
        w.wait_matched("联2024M1")
        run, forms = w.forms("联2024M1")
        lines = w.pool("联2024M1")
        assert run["forms"] == 30 and len(forms) == 30 and sorted(f["uscc"] for f in forms) == sorted(conf)
        assert run["algorithm"] == "drip-match-v1" and run["seed"] == seed
        check_reference(run, forms, lines)
        pools = {d["dept"]: d for d in run["depts"]}
        assert pools["130102SCJ"]["unqualified"] == 1 and pools["130102SCJ"]["inactive"] == 1
        assert pools["130102SCJ"]["cert_expired"] == 1 and pools["130102SWJ"]["teams"]
        bad = {"130102SCJ/S90", "130102SCJ/S91", "130102SCJ/S92"}
        assert not any(b.encode() in lines for b in bad), lines
        loads = {}
        for f in forms:
            assert f["result_due_latest"] and f["window_end"] == "2024-04-30"
            on = [x["inspector"] for sl in f["depts"] for x in sl.get("inspectors", [])]
            assert len(on) == len(set(on)), ("same person twice", f)
            for sl in f["depts"]:
                members = [x for x in sl["inspectors"] if x["role"] == pm.MEMBER]
                assert len(members) >= 2 and not sl.get("unstaffed"), (f["uscc"], sl)
                assert all(x["inspector"].startswith(sl["dept"] + "/") for x in sl["inspectors"]), sl
                assert not bad & {x["inspector"] for x in sl["inspectors"]}
                if sl["dept"] == "130102SCJ":
                    experts = [x for x in sl["inspectors"] if x["role"] == pm.EXPERT]
                    assert len(experts) == 1 and experts[0]["inspector"] in ("130102SCJ/E01", "130102SCJ/E02")
                    if f["uscc"] in conf[:3]:
                        assert "130102SCJ/S99" not in {x["inspector"] for x in members}
                        assert ("130102SCJ/S99", pm.RECUSED) in [(x["inspector"], x["reason"])
                                                                 for x in sl.get("exclusions", [])]
                else:
                    teams = {x["team"] for x in members}
                    assert len(teams) == 1 and teams != {"TEAM4"}, sl     # one whole team; TEAM4 is too small
                    size = {"TEAM1": 3, "TEAM2": 2, "TEAM3": 2}[teams.pop()]
                    assert len(members) == size
                for x in members:
                    loads[x["inspector"]] = loads.get(x["inspector"], 0) + 1
        cap = pools["130102SCJ"]["cap"]
        assert cap == -(-30 * 2 // 11)            # ceil(N*k/L): 11 eligible tier-0 members (S00-S09, S99)
        scj_loads = [v for k, v in loads.items() if k.startswith("130102SCJ/")]
        assert max(scj_loads) <= cap and max(scj_loads) - min(scj_loads) <= 1, loads
        rep = w.report("联2024M1")
        d = {x["pool"]["dept"]: x for x in rep["depts"]}
        assert d["130102SCJ"]["recused"] == 3 and d["130102SCJ"]["load_max"] <= cap
        assert d["130102SCJ"]["pairs"] > 20 and d["130102SCJ"].get("unstaffed_slots", 0) == 0
        # events: one per form (target's region, lead dept), one per inspector (own dept, own region), one run
        evs = [e for e in w.events() if e.get("task_code") == "联2024M1"]
        fe = [e for e in evs if e["kind"] == pm.FORM_DISPATCHED]
        assert len(fe) == 30 and len({e["msg_id"] for e in fe}) == 30
        assert all(e["subject"] == "%s.evt.matcher.13.01.02.130100SCJ.form" % s.prefix for e in fe)
        ie = [e for e in evs if e["kind"] == pm.INSPECTOR_ASSIGNED]
        assert {e["assignment"]["inspector"] for e in ie} == set(loads) | {
            x["inspector"] for f in forms for sl in f["depts"] for x in sl["inspectors"] if x["role"] == pm.EXPERT}
        assert all(e["subject"].startswith("%s.evt.matcher.13.01.02.%s." % (s.prefix, e["assignment"]["inspector"]
                                                                             .split("/")[0])) for e in ie)
        assert len([e for e in evs if e["kind"] == pm.TASK_MATCHED]) == 1
        # the same settlement again under another message id (a replay past the duplicate window): nothing new
        w.settle("联2024M1", seed, [SCJ["dept"], SWJ["dept"]], conf, tag="-again")
        harness.wait_for(lambda: "matched already" in s.log("matcher"), timeout=30, what="second settlement seen")
        assert s.psql("SELECT count(*) FROM matcher.form")[0][0] == "30"


def test_fallback_unstaffed_direct_assignment_rotation():
    """A short local pool: the city's pool, then the neighbour district's, flagged; beyond them the slot is
    unstaffed and reported; a direct assignment completes it (recorded as such, form version 2, bad ones refused).
    A second task on the same targets never puts the previous form's inspectors on them again (rotation), and a
    deactivated inspector is not drawn once the event arrived."""
    s, w = make_world()
    with s:
        us = targets(w, 12, seed=9)
        # k = 3: L1, L2 locally, C1 at the city, N1 in the neighbour district; C1 declared conflicts with
        # us[0..3] (they take N1), L2 with us[3] (which then stays one short: unstaffed). L3 lacks the tag.
        w.importf("inspector", [insp("L1", "本地一", "130102", quals="食品"),
                                insp("L2", "本地二", "130102", quals="食品", recusals=us[3]),
                                insp("L3", "本地三", "130102", quals="执法"),
                                insp("E01", "专家", "130102", quals="食品", expert="true")], SCJ)
        w.importf("inspector", [insp("C1", "市局一", "130100", quals="食品", recusals=";".join(us[:4]))], CITY)
        w.importf("inspector", [insp("N1", "邻区一", "130105", quals="食品")], NEIGH)
        w.importf("inspector", [insp("T%d" % i, "税%d" % i, "130102", quals="税务", team="A") for i in range(3)], SWJ)
        w.wait_projection()
        items = {SCJ["dept"]: ["SP01"], SWJ["dept"]: ["SW01"]}
        w.publish_task("联2024F1", items, [SCJ["dept"], SWJ["dept"]], k=3)
        seed = hashlib.sha256(b"f1").hexdigest()
        w.settle("联2024F1", seed, [SCJ["dept"], SWJ["dept"]], us[:10])
        w.wait_matched("联2024F1")
        run, forms = w.forms("联2024F1")
        check_reference(run, forms, w.pool("联2024F1"))
        srcs = [x["source"] for f in forms for sl in f["depts"] if sl["dept"] == "130102SCJ"
                for x in sl["inspectors"] if x["role"] == pm.MEMBER]
        assert pm.PARENT in srcs and pm.NEIGHBOUR in srcs, srcs
        unst = [f for f in forms for sl in f["depts"] if sl["dept"] == "130102SCJ" and sl.get("unstaffed")]
        assert [f["uscc"] for f in unst] == [us[3]] and run["unstaffed_slots"] == 1, [f["uscc"] for f in unst]
        rep = w.report("联2024F1")
        d = {x["pool"]["dept"]: x for x in rep["depts"]}
        assert d["130102SCJ"]["from_parent"] > 0 and d["130102SCJ"]["from_neighbours"] > 0
        assert set(d["130102SCJ"]["unstaffed_forms"]) == {f["uscc"] for f in unst}
        evs = w.events()
        assert any(e["kind"] == pm.SLOTS_UNSTAFFED and e["dept"] == "130102SCJ" for e in evs)
        # direct assignment: refused for another department's slot, without a reason, twice the same person
        u = unst[0]["uscc"]
        sl = [x for x in unst[0]["depts"] if x["dept"] == "130102SCJ"][0]
        on = {x["inspector"] for x in sl["inspectors"]}
        free = ["130102SCJ/L3"]
        bad = w.request("match_assign", pm.assign_request(w.env(SCJ), "联2024F1", u, ["130102SCJ/L2"], "补足",
                                                          plan_code=PLAN), SCJ, pm.ASSIGN_REPLY)
        assert bad.get("error") == 11 and "conflict" in bad["error_message"], bad   # L2 declared a conflict
        need = sl["short_by"]
        env = w.env(SCJ)
        ok = w.request("match_assign", pm.assign_request(env, "联2024F1", u, free[:need], "本地人员不足，直接委派",
                                                         plan_code=PLAN), SCJ, pm.ASSIGN_REPLY)
        assert not ok.get("error"), ok
        again = w.request("match_assign", pm.assign_request(env, "联2024F1", u, free[:need], "本地人员不足，直接委派",
                                                            plan_code=PLAN), SCJ, pm.ASSIGN_REPLY)
        assert again == dict(ok, header=again["header"]) or again.get("form") == ok.get("form")
        f2 = ok["form"]
        assert f2["version"] == 2
        sl2 = [x for x in f2["depts"] if x["dept"] == "130102SCJ"][0]
        assert not sl2.get("unstaffed") and [x["source"] for x in sl2["inspectors"]].count(pm.DIRECT) == need
        assert w.report("联2024F1")["run"]["direct_assignments"] == need
        # rotation and deactivation: a second task on the same targets
        prev = {f["uscc"]: {x["inspector"] for sl in f["depts"] if sl["dept"] == "130102SCJ"
                            for x in sl["inspectors"]} for f in forms}
        prev[u] |= set(free[:need])
        w.importf("inspector", [insp("L2", "本地二", "130102", quals="食品", active="false")], SCJ)
        w.wait_projection()
        w.publish_task("联2024F2", items, [SCJ["dept"], SWJ["dept"]], k=3)
        w.settle("联2024F2", hashlib.sha256(b"f2").hexdigest(), [SCJ["dept"], SWJ["dept"]], us[:10])
        w.wait_matched("联2024F2")
        run2, forms2 = w.forms("联2024F2")
        check_reference(run2, forms2, w.pool("联2024F2"))
        assert b"130102SCJ/L2" not in w.pool("联2024F2")
        for f in forms2:
            sl = [x for x in f["depts"] if x["dept"] == "130102SCJ"][0]
            got = {x["inspector"] for x in sl["inspectors"]}
            assert "130102SCJ/L2" not in got
            assert not (got & prev[f["uscc"]]), (f["uscc"], got, prev[f["uscc"]])
            rot = {x["inspector"] for x in sl.get("exclusions", []) if x["reason"] == pm.ROTATION}
            assert rot == prev[f["uscc"]] & {"130102SCJ/L1", "130102SCJ/E01", "130100SCJ/C1", "130105SCJ/N1"}, \
                (rot, prev[f["uscc"]])


def test_bad_queries_refused():
    """Unknown task, bad payload, wrong envelope: specific errors, nothing changes."""
    s, w = make_world()
    with s:
        rep = w.request("match_get", pm.match_query(w.env(LEAD), "无此任务", PLAN), LEAD, pm.MATCH_REPLY)
        assert rep.get("error") == 12, rep
        rep = w.request("match_get", b"\xff\xff\xff", LEAD, pm.MATCH_REPLY)
        assert rep.get("error") == 2, rep
        rep = w.request("match_report", pm.match_query(w.env(SCJ), "x", PLAN), LEAD, pm.MATCH_REPORT)
        assert rep.get("error") == 14, rep       # envelope says 130102SCJ, subject says 130100SCJ
        rep = w.request("match_assign", pm.assign_request(w.env(SCJ), "x", "91130102XXXXXXXXXX", ["A/B"], "r"),
                        SCJ, pm.ASSIGN_REPLY)
        assert rep.get("error") == 5, rep        # bad USCC check digit
        rep = w.request("match_nonsense", b"", SCJ, pm.MATCH_REPLY)
        assert rep.get("error") == 2, rep


if __name__ == "__main__":
    harness.main(globals())
