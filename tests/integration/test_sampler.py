"""drip-sampler end to end: registry + sampler running, the planner's part played by the test (PlannerEvents
published on the scratch's <PREFIX>_PLANNER stream with jsutil), draws checked against the independent
reference implementation tests/integration/draw_reference.py (MISSION §6) and the population recomputed
from the registry's own table.

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... python3 tests/integration/test_sampler.py [test_name ...]
"""
import csv
import datetime
import hashlib
import os
import random
import secrets
import time

import draw_reference
import harness
import jsutil
import pb_sampler as ps
from drip_world import USCC_ALPHA, USCC_WEIGHTS, load_reference, read_csv, summary

LEAD = dict(dept="130000SCJ", region="130000")   # provincial: its jurisdiction is all of Hebei
COOP = dict(dept="130102SWJ", region="130102")
OWNER = dict(dept="130102SCJ", region="130102")  # registers the targets
OTHER = dict(dept="130105SCJ", region="130105")  # takes part in nothing
CST = datetime.timezone(datetime.timedelta(hours=8))
# DRIP_SAMPLER_SORT_RUN_ROWS: populations above 1 000 are sorted in several runs, spilled and merged (spool.c),
# as populations above ~1 M are with the default memory; smaller ones stay in memory.
FAST_ENV = {"DRIP_SAMPLER_SETTLE_MS": "300", "DRIP_SAMPLER_OVERDUE_INTERVAL_MS": "500",
            "DRIP_SAMPLER_SORT_RUN_ROWS": "1000"}


# ----------------------------------------------------------------------------------------------------------
# environment: the sampler's PostgreSQL role (deploy/dev creates it once sampler is in its DAEMONS)
# ----------------------------------------------------------------------------------------------------------
def _ensure_sampler_role():
    e = harness.env()
    if e.get("DRIP_PGPW_sampler"):
        return
    pw = secrets.token_hex(16)
    harness._psql(harness._conninfo(e["DRIP_PG_ADMIN"], dbname="postgres"),
                  "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'drip_sampler') THEN"
                  " CREATE ROLE drip_sampler LOGIN; END IF; END $$;\n"
                  "ALTER ROLE drip_sampler WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '%s';\n"
                  "ALTER ROLE drip_sampler SET search_path = sampler;\n" % pw)
    e["DRIP_PGPW_sampler"] = pw


# ----------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------
def make_uscc(rnd, region):
    body = "91" + region + "".join(rnd.choice(USCC_ALPHA[:-1]) for _ in range(9))
    total = sum(USCC_ALPHA.index(c) * w for c, w in zip(body, USCC_WEIGHTS))
    c = 31 - total % 31
    return body + USCC_ALPHA[0 if c == 31 else c]


def handmade(path, classes=None, seed=7):
    """A small, fully controlled population: per credit class (''=unclassified) that many enterprises
    (status 存续, region 1301xx), plus 4 individual businesses (another target kind). Returns the rows."""
    rnd = random.Random(seed)
    classes = classes or {"A": 10, "B": 10, "C": 5, "D": 5, "": 3}
    rows = []
    for cls, n in classes.items():
        for _ in range(n):
            rows.append(dict(uscc=make_uscc(rnd, "130102"), name="测试企业%d有限公司" % len(rows), kind="enterprise",
                             region="130102", industry="C1311", ownership="domestic", registered_capital="5000000",
                             established="2015-03-01", status="存续", credit_class=cls, tags=""))
    for _ in range(4):
        rows.append(dict(uscc=make_uscc(rnd, "130105"), name="测试个体户%d" % len(rows), kind="individual",
                         region="130105", industry="F5211", ownership="domestic", registered_capital="",
                         established="2018-01-01", status="在业", credit_class="A", tags=""))
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    return rows


def now_ms():
    return int(time.time() * 1000)


def cst_ms(y, m, d, hh=10):
    return int(datetime.datetime(y, m, d, hh, tzinfo=CST).timestamp() * 1000)


# ----------------------------------------------------------------------------------------------------------
# the world
# ----------------------------------------------------------------------------------------------------------
class World:
    def __init__(self, s):
        self.s = s
        self.rows = []
        self.planner_stream = s.prefix.upper() + "_PLANNER"
        self.sampler_stream = s.prefix.upper() + "_SAMPLER"
        self.seen = 0          # SAMPLER stream sequence read so far
        self.events = []       # decoded SamplerEvents, in stream order

    # -- registry data ------------------------------------------------------------------------------------
    def import_targets(self, path, window=4):
        r = self.s.dripctl("registry", "import", "--kind", "enterprise", "--window", window, "--rejects",
                           path + ".rej", path, **OWNER)
        sm = summary(r.stdout)
        assert sm["rejected"] == 0, r.stdout
        return sm

    def import_inspectors(self, who, count, quals=None, seed=3):
        path = self.s.path("inspectors-%s.csv" % who["dept"])
        args = ["gen", "inspectors", "--count", count, "--dept", who["dept"], "--region", who["region"],
                "--seed", seed, "-o", path]
        if quals:
            args += ["--quals", quals]
        self.s.dripctl(*args)
        r = self.s.dripctl("registry", "import", "--kind", "inspector", "--rejects", path + ".rej", path, **who)
        assert summary(r.stdout)["rejected"] == 0, r.stdout
        return read_csv(path)

    def import_items(self, who, count):
        path = self.s.path("items-%s.csv" % who["dept"])
        self.s.dripctl("gen", "items", "--dept", who["dept"], "--count", count, "-o", path)
        r = self.s.dripctl("registry", "import", "--kind", "item", "--rejects", path + ".rej", path, **who)
        assert summary(r.stdout)["rejected"] == 0, r.stdout
        return read_csv(path)

    def wait_projection(self, timeout=600):
        """Until the sampler projected every registry version of targets and every inspector/item."""
        def done():
            (reg,), = self.s.psql("SELECT count(*) FROM registry.target")
            (smp,), = self.s.psql("SELECT count(*) FROM sampler.target")
            (rr,), = self.s.psql("SELECT count(*) FROM registry.record WHERE valid_to IS NULL")
            (sr,), = self.s.psql("SELECT count(*) FROM sampler.ref_record")
            return reg == smp and rr == sr
        harness.wait_for(done, timeout=timeout, interval=0.5, what="sampler projection caught up")

    # -- the planner's part -------------------------------------------------------------------------------
    def publish(self, kind, task_bytes, who=LEAD, msg_id=None, **kw):
        msg_id = msg_id or "planner:%s" % secrets.token_hex(8)
        ev = ps.planner_event(ps.envelope(msg_id, who["dept"], who["region"]), kind, task_bytes, **kw)
        r = who["region"]
        subj = "%s.evt.planner.%s.%s.%s.%s.task" % (self.s.prefix, r[:2], r[2:4], r[4:], who["dept"])
        with self.s.nats() as nc:
            return jsutil.publish(nc, subj, ev, msg_id)

    def publish_task(self, code, nonce, **task_kw):
        task_kw.setdefault("lead_dept", LEAD["dept"])
        t = ps.task(code, commitment=ps.commitment(nonce), **task_kw)
        self.publish(ps.TASK_PUBLISHED, t)
        return t

    def order(self, task_bytes, nonce, at_ms=None, entropy="", entropy_source=None, msg_id=None, **kw):
        return self.publish(ps.TASK_DRAW_ORDERED, task_bytes, nonce=nonce, entropy=entropy,
                            entropy_source=entropy_source, at_ms=at_ms or now_ms(), msg_id=msg_id, **kw)

    # -- the sampler's events -----------------------------------------------------------------------------
    def poll_events(self):
        with self.s.nats() as nc:
            try:
                msgs = jsutil.read_stream(nc, self.sampler_stream, self.seen + 1)
            except harness.HarnessError:
                return self.events
        for m in msgs:
            self.seen = max(self.seen, m["seq"])
            ev = ps.decode_msg(m["data"], ps.SAMPLER_EVENT)
            ev["subject"] = m["subject"]
            ev["msg_id"] = m["headers"].get("Nats-Msg-Id")
            self.events.append(ev)
        return self.events

    def find(self, kind, code, draw_no=None):
        return [e for e in self.poll_events() if e.get("kind") == kind and e.get("record", {}).get("task_code") == code
                and (draw_no is None or e["record"].get("draw_no") == draw_no)]

    def wait_event(self, kind, code, draw_no=None, timeout=120):
        """All parts of the first event of that kind for the task (list, part order)."""
        def got():
            evs = self.find(kind, code, draw_no)
            if not evs:
                return None
            first = evs[0]
            parts = [e for e in evs if e["msg_id"].rsplit("-", 1)[0] == first["msg_id"].rsplit("-", 1)[0]]
            return sorted(parts, key=lambda e: e.get("part", 1)) if len(parts) >= first.get("parts", 1) else None
        try:
            return harness.wait_for(got, timeout=timeout, interval=0.3, what="event kind %d for %s" % (kind, code))
        except harness.HarnessError as e:
            raise harness.HarnessError("%s; sampler log:\n%s" % (e, "\n".join(self.s.log("sampler").splitlines()[-30:])))

    # -- requests ----------------------------------------------------------------------------------------
    def request(self, verb, payload, who, schema, timeout=60):
        r = who["region"]
        subj = "%s.samp.cmd.%s.%s.%s.%s.%s" % (self.s.prefix, r[:2], r[2:4], r[4:], who["dept"], verb)
        with self.s.nats() as nc:
            _, data = nc.request(subj, payload, timeout=timeout)
        return ps.decode_msg(data, schema), data

    def draw_get(self, code, draw_no=None, who=LEAD):
        rep, _ = self.request("draw_get", ps.draw_query(ps.envelope(secrets.token_hex(8), who["dept"], who["region"]),
                                                        code, draw_no), who, ps.DRAW_REPLY)
        assert not rep.get("error"), rep
        return rep

    def population(self, code, draw_no=None, limit=None, who=LEAD):
        out, after, pages = b"", None, 0
        while True:
            q = ps.population_query(ps.envelope(secrets.token_hex(8), who["dept"], who["region"]), code, draw_no,
                                    after, limit)
            rep, _ = self.request("draw_population", q, who, ps.POPULATION_PAGE)
            assert not rep.get("error"), rep
            out += rep.get("lines", b"")
            pages += 1
            after = rep.get("next")
            if not after:
                return out, pages

    def confirm(self, code, decisions, who, msg_id=None):
        q = ps.confirm_request(ps.envelope(msg_id or secrets.token_hex(8), who["dept"], who["region"]), code,
                               [ps.dept_decision(*d) for d in decisions])
        return self.request("confirm", q, who, ps.CONFIRM_REPLY)


def make_world(extra_env=None, handmade_seed=None, inspectors=()):
    """Scratch with registry (reference data loaded) and sampler; with handmade_seed, the handmade()
    population is imported first (its rows in w.rows)."""
    _ensure_sampler_role()
    s = harness.Scratch(daemons=["registry", "sampler"])
    try:
        s.start("registry")
        load_reference(s)
        w = World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
        w.rows = []
        if handmade_seed is not None:
            path = s.path("targets.csv")
            w.rows = handmade(path, seed=handmade_seed)
            w.import_targets(path)
        for who, n in inspectors:
            w.import_inspectors(who, n)
        env = dict(FAST_ENV)
        env.update(extra_env or {})
        s.start("sampler", extra_env=env)
        w.wait_projection()
    except BaseException:
        s.close(raise_errors=False)
        raise
    return s, w


def reference(record, lines, spares=0):
    """draw_reference's verdict for a record and its population bytes."""
    strata = {x["stratum"]: x for x in record["strata"]}
    kw = {}
    if record.get("count"):
        kw["count"] = record["count"]
    else:
        kw["ratios_ppm"] = {k: v.get("ratio_ppm", 0) for k, v in strata.items()}
    return draw_reference.draw(record["nonce"], record.get("entropy", ""), record["task_code"], lines,
                               spares=spares, **kw)


def check_against_reference(record, lines):
    ref = reference(record, lines)
    assert hashlib.sha256(lines).hexdigest() == record["population_digest"]
    assert ref["population_digest"] == record["population_digest"]
    assert ref["commitment"] == record["commitment"]
    assert ref["seed"] == record["seed"], (ref["seed"], record["seed"])
    strata = {x["stratum"]: x for x in record["strata"]}
    for code in "ABCD-":
        assert strata[code].get("size", 0) == ref["sizes"][code], (code, strata[code], ref["sizes"])
        assert strata[code].get("quota", 0) == ref["quotas"][code], (code, strata[code], ref["quotas"])
        assert (strata[code].get("threshold") or None) == ref["thresholds"][code], code
    got = [(t["uscc"], t["stratum"], t["ticket"]) for t in record["selected"] if not t.get("replaces")]
    assert got == ref["selected"], "selected list differs from the reference"
    assert [t["rank"] for t in record["selected"] if t["stratum"] == "A" and not t.get("replaces")] == \
        list(range(1, ref["quotas"]["A"] + 1))
    return ref


def projection_lines(s, where="kind = 1 AND region LIKE '13%'", stratify=True):
    """The population computed from the registry's own table (current rows), independently of the sampler."""
    rows = s.psql("SELECT key, credit_class FROM registry.target WHERE valid_to IS NULL AND NOT retired AND %s"
                  % where)
    lines = sorted(("%s,%s\n" % (k, "-ABCD"[int(c)] if stratify else "-")).encode() for k, c in rows)
    return b"".join(lines)


# ----------------------------------------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------------------------------------
def test_draw_reproducible_verifiable_and_capacity_checked():
    """3 000 generated enterprises; 10 % stratified draw with public entropy; the record agrees with the
    reference implementation bit for bit; the population is byte for byte the registry's; capacity checked
    per department with the same numbers as an independent count; an order is drawn once."""
    _ensure_sampler_role()
    with harness.Scratch(daemons=["registry", "sampler"]) as s:
        s.start("registry")
        load_reference(s)
        w = World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
        f = s.path("enterprises.csv")
        s.dripctl("gen", "enterprises", "--count", 3000, "--seed", 5, "--regions", "130000", "-o", f)
        w.import_targets(f)
        lead_insp = w.import_inspectors(LEAD, 120, seed=3)
        coop_insp = w.import_inspectors(COOP, 120, seed=4)
        s.start("sampler", extra_env=FAST_ENV)
        w.wait_projection()

        window_end = (datetime.datetime.now(CST).date() + datetime.timedelta(days=30)).isoformat()
        nonce = os.urandom(32)
        code = "联202401"
        t = w.publish_task(code, nonce, kind=ps.JOINT, cooperating_depts=[COOP["dept"]], ratio_ppm=100000,
                           window_end=window_end, inspectors_per_check=2)
        w.order(t, nonce, entropy="福彩3D 2024055期 3 1 4", entropy_source="中国福利彩票 2024-03-02")
        done = w.wait_event(ps.DRAW_COMPLETED, code)
        rep = w.draw_get(code)
        rec = rep["record"]
        assert rep["draw_nos"] == [1]
        assert rec["algorithm"] == "drip-draw-v1" and rec["nonce"] == nonce.hex()
        assert rec["entropy"] == "福彩3D 2024055期 3 1 4" and rec["participants"] == [LEAD["dept"], COOP["dept"]]
        # the event carries the same list as the record
        ev_sel = [x for part in done for x in part["record"]["selected"]]
        assert [(x["uscc"], x["ticket"]) for x in ev_sel] == [(x["uscc"], x["ticket"]) for x in rec["selected"]]
        assert ev_sel == rec["selected"], (ev_sel[:2], rec["selected"][:2])  # every field (events built in memory)
        assert all(x["state"] == ps.PENDING for x in rec["selected"])
        frozen = w.wait_event(ps.POPULATION_FROZEN, code)[0]["record"]
        assert frozen["population_digest"] == rec["population_digest"] and not frozen.get("seed")

        # the population, paged, is exactly the hashed bytes and the registry's own rows
        lines, pages = w.population(code, limit=700)
        assert pages >= 4
        assert lines == projection_lines(s)
        assert rec["population_size"] == lines.count(b"\n")
        check_against_reference(rec, lines)
        ref = reference(rec, lines)
        assert rec["total_quota"] == sum(ref["quotas"].values()) == len(rec["selected"])

        # capacity: eligible = active, certificate valid to the window's end (no items: no qualifications)
        need = rec["total_quota"] * 2
        for who, insp in ((LEAD, lead_insp), (COOP, coop_insp)):
            eligible = sum(1 for i in insp if i["active"] == "1" and i["cert_expiry"] >= window_end)
            frag = "%s: %d eligible x 20 = %d checks for %d needed" % (who["dept"], eligible, eligible * 20, need)
            assert frag in rec["capacity_note"], (frag, rec["capacity_note"])

        # the same order again: JetStream drops it (same msg id); a second order is refused
        before = w.draw_get(code)["draw_nos"]
        ack = w.order(t, nonce, msg_id=done[0]["header"]["correlation_id"])
        assert ack.get("duplicate"), ack
        w.order(t, nonce)
        refused = w.wait_event(ps.DRAW_REFUSED, code)[0]
        assert "already drawn" in refused["reason"], refused
        assert w.draw_get(code)["draw_nos"] == before == [1]

        # a redraw needs a reason; with one, draw 2 supersedes draw 1, which is kept
        w.order(t, nonce, redraw=True)
        harness.wait_for(lambda: len(w.find(ps.DRAW_REFUSED, code)) >= 2, what="redraw without reason refused")
        assert "reason" in w.find(ps.DRAW_REFUSED, code)[1]["reason"]
        w.order(t, nonce, redraw=True, reason="抽取时段内名录数据导入错误", entropy="另一期开奖号码 9 9 9")
        w.wait_event(ps.DRAW_COMPLETED, code, draw_no=2)
        rep2 = w.draw_get(code)
        assert rep2["draw_nos"] == [1, 2]
        assert rep2["record"]["draw_no"] == 2 and rep2["record"]["redraw_reason"] == "抽取时段内名录数据导入错误"
        old = w.draw_get(code, draw_no=1)["record"]
        assert old["superseded"] and old["seed"] == rec["seed"] and len(old["selected"]) == len(rec["selected"])
        check_against_reference(rep2["record"], w.population(code, draw_no=2)[0])
        assert s.psql("SELECT count(*) FROM sampler.draw")[0][0] == "2"
        m = s.metrics("sampler")
        assert m['drip_sampler_draws_total{result="drawn"}'] == 2
        assert m['drip_sampler_draws_total{result="refused"}'] == 2


def test_quotas_strata_rounding_and_ties():
    """A hand-made population (A 10, B 10, C 5, D 5, unclassified 3, plus 4 individual businesses):
    class ratios with empty and zero strata, ceil rounding, a fixed count with tied remainders (largest
    remainder, ties by stratum code), no stratification, and the capacity refusal without inspectors."""
    s, w = make_world(handmade_seed=7)
    rows = w.rows
    with s:
        n_ent = sum(1 for r in rows if r["kind"] == "enterprise")
        cases = [
            # code, task kwargs, expected quotas A B C D -
            ("Q1", dict(class_ratios={"A": 150000, "C": 210000}), (2, 0, 2, 0, 0)),
            ("Q2", dict(count=5), (2, 1, 1, 1, 0)),
            ("Q3", dict(ratio_ppm=100000, stratify=False), (0, 0, 0, 0, 4)),
            ("Q4", dict(ratio_ppm=1), (1, 1, 1, 1, 1)),
            ("Q5", dict(count=40), (10, 10, 5, 5, 3)),
        ]
        nonces = {}
        for code, kw, _ in cases:
            nonces[code] = os.urandom(32)
            t = w.publish_task(code, nonces[code], **kw)
            w.order(t, nonces[code], force=True, reason="测试：无检查人员")
        for code, kw, expect in cases:
            w.wait_event(ps.DRAW_COMPLETED, code)
            rec = w.draw_get(code)["record"]
            lines, _ = w.population(code)
            assert lines.count(b"\n") == n_ent, (code, lines)
            assert lines.count(b",-\n") == (n_ent if kw.get("stratify") is False else 3)
            check_against_reference(rec, lines)
            strata = {x["stratum"]: x.get("quota", 0) for x in rec["strata"]}
            assert tuple(strata[c] for c in "ABCD-") == expect, (code, strata)
            assert rec["capacity_note"].startswith("FORCED despite a capacity shortfall (测试：无检查人员)")
            if kw.get("count"):
                assert rec["count"] == kw["count"]
        # without force: refused before drawing, numbers per department, nothing stored
        nonce = os.urandom(32)
        t = w.publish_task("Q6", nonce, ratio_ppm=100000, cooperating_depts=[COOP["dept"]])
        w.order(t, nonce)
        ev = w.wait_event(ps.DRAW_REFUSED, "Q6")[0]
        assert "not enough eligible inspectors" in ev["reason"], ev
        assert "130000SCJ: 0 eligible x 20 = 0 checks for 10 needed (SHORT)" in ev["reason"], ev["reason"]
        assert "130102SWJ: 0 eligible" in ev["reason"]
        assert ev["record"]["population_size"] == n_ent and not ev["record"].get("seed")
        assert s.psql("SELECT count(*) FROM sampler.draw WHERE task_code LIKE '%/Q6'")[0][0] == "0"


def test_confirm_replace_settle():
    """Two departments confirm; rejections are replaced by the next tickets of the same stratum in reference
    order; an exhausted stratum says so; replies are replayed; the draw settles once nothing is pending; the
    lead's confirmations then exclude those targets from its next task (exclude_inspected_days) and the
    yearly cap excludes them across departments except exempt classes."""
    s, w = make_world(handmade_seed=11)
    outsider = next(r["uscc"] for r in w.rows if r["kind"] == "individual")
    with s:
        code, nonce = "联202402", os.urandom(32)
        t = w.publish_task(code, nonce, kind=ps.JOINT, cooperating_depts=[COOP["dept"]],
                           class_ratios={"A": 200000, "B": 100000, "-": 1000000})
        w.order(t, nonce, force=True, reason="测试")
        w.wait_event(ps.DRAW_COMPLETED, code)
        rec = w.draw_get(code)["record"]
        lines, _ = w.population(code)
        ref = reference(rec, lines, spares=3)
        sel = {x["uscc"]: x for x in rec["selected"]}
        a_sel = [x["uscc"] for x in rec["selected"] if x["stratum"] == "A"]
        dash = [x["uscc"] for x in rec["selected"] if x["stratum"] == "-"]
        spares_a = [u for u, st, _ in ref["replacement_order"] if st == "A"]
        assert len(a_sel) == 2 and len(dash) == 3 and len(spares_a) == 3

        # a rejection without reason is refused; with a reason it is replaced by the next ticket of A
        rep, _ = w.confirm(code, [(a_sel[0], False)], COOP)
        assert rep["rejected_reasons"] and "reason" in rep["rejected_reasons"][0] and not rep["accepted"]
        rep, raw = w.confirm(code, [(a_sel[0], False, "该企业已于上月注销")], COOP, msg_id="c-1")
        assert [r["replacement_uscc"] for r in rep["replacements"]] == [spares_a[0]], (rep, spares_a)
        assert rep["replacements"][0]["rejected_uscc"] == a_sel[0]
        assert rep["replacements"][0]["ticket"] == ref["replacement_order"][0][2]
        # replayed: the stored reply, nothing done twice
        rep_again, raw_again = w.confirm(code, [(a_sel[0], False, "该企业已于上月注销")], COOP, msg_id="c-1")
        assert raw_again == raw
        # two more rejections in A in one request: the next two tickets, in request order
        rep, _ = w.confirm(code, [(a_sel[1], False, "原因一"), (spares_a[0], False, "原因二")], LEAD)
        assert [r["replacement_uscc"] for r in rep["replacements"]] == spares_a[1:3]
        # the unclassified stratum is drawn completely: nothing left to replace with
        rep, _ = w.confirm(code, [(dash[0], False, "无法联系")], LEAD)
        assert rep["replacements"][0]["replacement_uscc"] == "" and rep["replacements"][0]["rejected_uscc"] == dash[0]
        # a department outside the task
        rep, _ = w.confirm(code, [(dash[1], True)], OTHER)
        assert rep.get("error") == 11, rep
        # a decision on something not drawn, twice on the same target, after a rejection
        rep, _ = w.confirm(code, [(outsider, True), (dash[1], True), (dash[1], True), (a_sel[0], True)], LEAD)
        assert [d["uscc"] for d in rep["accepted"]] == [dash[1]], rep
        assert [r.split(":")[0] for r in rep["rejected_reasons"]] == [outsider, dash[1], a_sel[0]], rep
        assert "not a target" in rep["rejected_reasons"][0] and "twice" in rep["rejected_reasons"][1]
        assert "already rejected" in rep["rejected_reasons"][2]
        w.poll_events()
        repl_events = w.find(ps.TARGET_REPLACED, code)
        assert [r["replacement_uscc"] for e in repl_events for r in e["record"]["replacements"]] == \
            spares_a + [""]

        # everyone accepts everything still pending: confirmed, then settled
        cur = w.draw_get(code)["record"]
        pending = [x["uscc"] for x in cur["selected"] if x["state"] == ps.PENDING]
        assert pending
        for who in (LEAD, COOP):
            todo = [u for u in pending if not any(d["uscc"] == u and d["dept"] == who["dept"] for d in cur["decisions"])]
            rep, _ = w.confirm(code, [(u, True) for u in todo], who)
            assert not rep["rejected_reasons"], rep
        assert rep["pending"] == 0
        settled = w.wait_event(ps.DRAW_SETTLED, code)
        final = [x for p in settled for x in p["record"]["selected"]]
        assert {x["state"] for x in final} <= {ps.CONFIRMED, ps.REJECTED}
        confirmed = {x["uscc"] for x in final if x["state"] == ps.CONFIRMED}
        assert confirmed == set(pending)
        got = {u for e in w.find(ps.TARGET_CONFIRMED, code) for u in e["uscc"]}
        assert got == confirmed
        rec = w.draw_get(code)["record"]
        assert len(rec["decisions"]) == 2 * len(pending) + 4
        assert all(d["accept"] or d.get("reason") for d in rec["decisions"])

        # exclusions in the lead's next task: inspected (confirmed by the lead) within 30 days
        n2 = os.urandom(32)
        t2 = w.publish_task("T2", n2, ratio_ppm=100000, exclude_inspected_days=30)
        w.order(t2, n2, force=True, reason="测试")
        w.wait_event(ps.DRAW_COMPLETED, "T2")
        l2, _ = w.population("T2")
        keys2 = {ln.split(b",")[0].decode() for ln in l2.splitlines()}
        assert not keys2 & confirmed and len(keys2) == lines.count(b"\n") - len(confirmed)
        check_against_reference(w.draw_get("T2")["record"], l2)
        # another department's task with a yearly cap of 1, class B exempt
        n3 = os.urandom(32)
        t3 = w.publish_task("T3", n3, lead_dept=COOP["dept"], ratio_ppm=100000, max_inspections_per_year=1,
                            cap_exempt_classes=[2])
        w.order(t3, n3, force=True, reason="测试", who=COOP)
        w.wait_event(ps.DRAW_COMPLETED, "T3")
        l3, _ = w.population("T3")
        keys3 = {ln.split(b",")[0].decode() for ln in l3.splitlines()}
        b_conf = {x["uscc"] for x in final if x["state"] == ps.CONFIRMED and x["stratum"] == "B"}
        assert b_conf
        assert keys3 & confirmed == b_conf, (keys3 & confirmed, b_conf)


def _holiday_deadline(source, start, n):
    """Independent working-day arithmetic over data/cn-holidays.csv."""
    special = {}
    with open(source("data/cn-holidays.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            special[r["date"]] = r["kind"]
    d = start
    while n > 0:
        d += datetime.timedelta(days=1)
        k = special.get(d.isoformat())
        work = k == "workday" or (k != "off" and d.weekday() < 5)
        n -= work
    return d.isoformat()


def test_deadline_holiday_makeup_day_and_missing_calendar():
    """Confirmation deadlines in working days of the official schedule (中秋 / 国庆 2024 with the make-up
    Sunday 2024-09-29), computed from at_ms in UTC+8; a year without a schedule is drawn but says so."""
    s, w = make_world()
    with s:
        at = cst_ms(2024, 9, 27, 10)
        cases = [("D2", 2), ("D3", 3), ("D1", 1)]
        for code, n in cases:
            nonce = os.urandom(32)
            t = w.publish_task(code, nonce, ratio_ppm=10000, confirm_workdays=n)
            w.order(t, nonce, at_ms=at)
        for code, n in cases:
            w.wait_event(ps.DRAW_COMPLETED, code)
            rec = w.draw_get(code)["record"]
            expect = _holiday_deadline(s.source, datetime.date(2024, 9, 27), n)
            assert rec["confirm_deadline"] == expect, (code, rec.get("confirm_deadline"), expect)
            assert rec["frozen_at_ms"] == at and rec["population_size"] == 0
            # nothing existed then: the draw is empty and settles at once
            w.wait_event(ps.DRAW_SETTLED, code)
        assert w.draw_get("D2")["record"]["confirm_deadline"] == "2024-09-30"
        assert w.draw_get("D3")["record"]["confirm_deadline"] == "2024-10-08"
        # 23:30 UTC on 2024-09-29 is already Monday 2024-09-30 in China
        nonce = os.urandom(32)
        t = w.publish_task("D4", nonce, ratio_ppm=10000, confirm_workdays=1)
        w.order(t, nonce, at_ms=int(datetime.datetime(2024, 9, 29, 23, 30, tzinfo=datetime.timezone.utc)
                                    .timestamp() * 1000))
        w.wait_event(ps.DRAW_COMPLETED, "D4")
        assert w.draw_get("D4")["record"]["confirm_deadline"] == "2024-10-08"
        # 2018 has no schedule loaded
        nonce = os.urandom(32)
        t = w.publish_task("D5", nonce, ratio_ppm=10000, confirm_workdays=2)
        w.order(t, nonce, at_ms=cst_ms(2018, 6, 1))
        ev = w.wait_event(ps.DRAW_COMPLETED, "D5")[0]
        assert "calendar for 2018 not loaded" in ev["reason"], ev
        assert not w.draw_get("D5")["record"].get("confirm_deadline")


def test_bad_scope_and_bad_orders_refused():
    """Scopes that cannot be evaluated and inconsistent orders are refused with a reason naming the field;
    values never reach SQL text (a quote in a tag is just a tag)."""
    s, w = make_world()
    with s:
        bad = [
            ("B1", dict(scope=ps.target_filter(regions=["13000"])), "filter.regions[0]"),
            ("B2", dict(scope=ps.target_filter(established_before="2024-02-30")), "filter.established_before"),
            ("B3", dict(scope=ps.target_filter(credit_classes=[9])), "filter.credit_classes"),
            ("B4", dict(scope=ps.target_filter(capital_min=10, capital_max=5)), "capital_min"),
            ("B5", dict(scope=ps.target_filter(industries=["Z1234"])), "filter.industries[0]"),
            ("B6", dict(ratio_ppm=10000, count=5), "exactly one of"),
            ("B7", dict(ratio_ppm=2000000), "ratio_ppm"),
            ("B8", dict(class_ratios={"A": 10000}, stratify=False), "stratify"),
            ("B9", dict(confirm_workdays=0), "confirm_workdays"),
            ("B10", dict(lead_dept="999999XXX"), "not in the sampler's registry projection"),
        ]
        for code, kw, _ in bad:
            nonce = os.urandom(32)
            kw = dict(kw)
            if not any(k in kw for k in ("ratio_ppm", "count", "class_ratios")):
                kw["ratio_ppm"] = 10000
            t = w.publish_task(code, nonce, **kw)
            w.order(t, nonce, force=True, reason="x")
        for code, _, frag in bad:
            ev = w.wait_event(ps.DRAW_REFUSED, code)[0]
            assert frag in ev["reason"], (code, ev["reason"])
        # wrong nonce, cancelled task, unknown task, an injection attempt that is just a tag
        nonce = os.urandom(32)
        t = w.publish_task("N1", nonce, ratio_ppm=10000)
        w.order(t, os.urandom(32), force=True, reason="x")
        assert "commitment" in w.wait_event(ps.DRAW_REFUSED, "N1")[0]["reason"]
        t = w.publish_task("N2", nonce, ratio_ppm=10000)
        w.publish(ps.TASK_CANCELLED, t, reason="计划调整")
        w.order(t, nonce, force=True, reason="x")
        assert "cancelled" in w.wait_event(ps.DRAW_REFUSED, "N2")[0]["reason"]
        w.order(ps.task("N3", LEAD["dept"]), nonce)  # never published: no commitment
        assert "no published commitment" in w.wait_event(ps.DRAW_REFUSED, "N3")[0]["reason"]
        t = w.publish_task("N4", nonce, ratio_ppm=10000, scope=ps.target_filter(tags_all=["x'); DROP TABLE target; --"]))
        w.order(t, nonce, force=True, reason="x")
        assert w.wait_event(ps.DRAW_COMPLETED, "N4")[0]["record"]["population_size"] == 0
        assert s.psql("SELECT count(*) FROM sampler.draw")[0][0] == "1"
        assert int(s.psql("SELECT count(*) FROM sampler.refusal")[0][0]) == len(bad) + 3


def test_overdue_escalated_not_dropped():
    """Targets still pending after the deadline become OVERDUE (one DRAW_OVERDUE event listing them), stay in
    the record, and a late decision is still accepted and flagged late."""
    s, w = make_world(handmade_seed=13)
    with s:
        nonce = os.urandom(32)
        t = w.publish_task("O1", nonce, count=4)
        w.order(t, nonce, force=True, reason="测试")
        w.wait_event(ps.DRAW_COMPLETED, "O1")
        rec = w.draw_get("O1")["record"]
        keys = [x["uscc"] for x in rec["selected"]]
        rep, _ = w.confirm("O1", [(keys[0], True)], LEAD)
        assert rep["pending"] == 3
        # the deadline passes (moved into the past: the test cannot wait for working days)
        s.psql("UPDATE sampler.draw SET deadline = date '2024-01-02' WHERE task_code LIKE '%/O1'")
        ev = w.wait_event(ps.DRAW_OVERDUE, "O1", timeout=30)[0]
        assert sorted(ev["uscc"]) == sorted(keys[1:]), ev
        assert "2024-01-02" in ev["reason"]
        time.sleep(1.5)
        assert len(w.find(ps.DRAW_OVERDUE, "O1")) == 1  # once per draw
        states = {x["uscc"]: x["state"] for x in w.draw_get("O1")["record"]["selected"]}
        assert states == {keys[0]: ps.CONFIRMED, **{k: ps.OVERDUE for k in keys[1:]}}
        rep, _ = w.confirm("O1", [(keys[1], True), (keys[2], False, "已迁出本辖区")], LEAD)
        assert rep["pending"] == 3 - 2 + 1  # the replacement of keys[2] is overdue from the start
        assert s.psql("SELECT bool_and(late) FROM sampler.decision WHERE uscc IN ('%s', '%s')"
                      % (keys[1], keys[2]))[0][0] == "t"
        st = {x["uscc"]: x["state"] for x in w.draw_get("O1")["record"]["selected"]}
        assert st[keys[1]] == ps.CONFIRMED and st[keys[2]] == ps.REJECTED
        assert list(st.values()).count(ps.OVERDUE) == 2


if __name__ == "__main__":
    harness.main(globals())
