"""drip-planner end to end, driven with raw NATS requests and hand-encoded protobuf (pb_planner.py):

 * seed 000 (石家庄综合保税区 2023 joint plan): the plan and its name, the three joint tasks 联202301..03 with
   five departments and the lead rotating, publication with commitments (hex SHA-256 of the stored nonce),
   an adjustment with a reason (version 2, kept), draw orders, the sampler's outcomes (DRAW_COMPLETED ->
   DRAWN -> CONFIRMING, DRAW_REFUSED -> PUBLISHED), redraws, cancellation, retried requests;
 * every validation rule of a task with the specific error it answers.

The planner learns departments, regions and items from the registry's stream; the test registers a custom
zone (130190 石家庄综合保税区), six departments and their items through the registry first."""
import base64
import hashlib
import re
import secrets
import threading

import harness
import pb
import pb_planner as pp
from drip_world import load_reference, read_csv

ZONE = "130190"
OFFICE = "130190SSJ"  # the zone's 双随机办: owns the joint plan
SCJ, JFJ, JHJ, SWJ, RSJ = "130190SCJ", "130190JFJ", "130190JHJ", "130190SWJ", "130190RSJ"
DEPTS = [(OFFICE, "石家庄综合保税区“双随机、一公开”监管工作领导小组办公室"),
         (SCJ, "石家庄市市场监督管理局综合保税区分局"), (JFJ, "石家庄综合保税区经济发展局"),
         (JHJ, "石家庄综合保税区建设环保局"), (SWJ, "国家税务总局石家庄综合保税区税务局"),
         (RSJ, "石家庄综合保税区人力资源和社会保障局")]
MEMBERS = [SCJ, JFJ, JHJ, SWJ, RSJ]
ON_SITE = ("现场检查", "实地核查")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- world ---------------------------------------------------------------------------------------------------
def planner_world():
    """Registry + reference data + the zone, its departments and their items; then the planner, once its
    projection holds them. Returns (scratch, {dept: item rows})."""
    daemons = sorted(set(harness.env().get("DRIP_DAEMONS", "registry").split()) | {"registry", "planner"})
    s = harness.Scratch(daemons=daemons)
    try:
        s.start("registry")
        load_reference(s)
        f = s.path("zone.csv")
        with open(f, "w", encoding="utf-8") as out:
            out.write("code,name,level,parent,custom\n%s,石家庄综合保税区,county,130100,1\n" % ZONE)
        s.dripctl("registry", "import", "--kind", "region", f)
        f = s.path("zone-depts.csv")
        with open(f, "w", encoding="utf-8") as out:
            out.write("code,region,name\n" + "".join("%s,%s,%s\n" % (c, ZONE, n) for c, n in DEPTS))
        s.dripctl("registry", "import", "--kind", "department", f)
        items = {}
        for i, d in enumerate(MEMBERS):
            f = s.path(d + "-items.csv")
            s.dripctl("gen", "items", "--dept", d, "--count", "27", "--seed", str(i + 1), "-o", f)
            s.dripctl("registry", "import", "--kind", "item", f, dept=d, region=ZONE)
            items[d] = read_csv(f)
        s.start("planner")
        want_items = sum(len(v) for v in items.values())
        harness.wait_for(lambda: int(s.psql("SELECT count(*) FROM planner.ref_record WHERE kind = 3")[0][0])
                         >= want_items and int(s.psql(
                             "SELECT count(*) FROM planner.ref_record WHERE kind = 4 AND key LIKE '130190%'")[0][0])
                         == len(DEPTS), timeout=60, what="planner projection of the registry")
    except BaseException:
        s.close(raise_errors=False)
        raise
    return s, items


def codes_where(items, dept, kind="enterprise", on_site=None):
    out = []
    for r in items[dept]:
        if r["target_kind"] != kind:
            continue
        site = any(m in r["methods"].split(";") for m in ON_SITE)
        if on_site is None or site == on_site:
            out.append(r["code"])
    return out


class Planner:
    """Request/reply client: req(dept, verb, **PlanCommand fields) -> (decoded reply, raw bytes)."""

    def __init__(self, s):
        self.s = s
        self.nc = s.nats()

    def raw(self, dept, verb, payload, region=ZONE):
        subj = "%s.plan.cmd.%s.%s.%s.%s.%s" % (self.s.prefix, region[:2], region[2:4], region[4:], dept, verb)
        _, data = self.nc.request(subj, payload, timeout=15)
        return data

    def req(self, dept, verb, region=ZONE, msg_id=None, **cmd):
        hdr = pb.envelope(msg_id or secrets.token_hex(8), dept, region)
        data = self.raw(dept, verb, pp.plan_command(hdr, **cmd), region)
        return pp.decode_reply(data), data

    def ok(self, dept, verb, **kw):
        r, _ = self.req(dept, verb, **kw)
        assert r["error"] == pp.OK, (verb, r)
        return r

    def err(self, code, fragment, dept, verb, **kw):
        r, _ = self.req(dept, verb, **kw)
        assert r["error"] == code and fragment in r["message"], (verb, code, fragment, r)
        assert r["plan"] is None and r["task"] is None, r
        return r["message"]

    def close(self):
        self.nc.close()


def stream_events(s, service="planner"):
    """Every message of <PREFIX>_<SERVICE> decoded as PlannerEvent, with subject and Nats-Msg-Id."""
    name = (s.prefix + "_" + service).upper()
    out = []
    with s.nats() as nc:
        state = nc.js_api("STREAM.INFO." + name)["state"]
        for seq in range(max(1, state["first_seq"]), state["last_seq"] + 1):
            m = nc.js_api("STREAM.MSG.GET." + name, {"seq": seq}).get("message")
            if not m:
                continue
            hdrs = base64.b64decode(m.get("hdrs") or "").decode("utf-8", "replace")
            mid = re.search(r"Nats-Msg-Id:\s*(\S+)", hdrs)
            ev = pp.decode_event(base64.b64decode(m.get("data") or ""))
            ev["subject"] = m["subject"]
            ev["nats_msg_id"] = mid.group(1) if mid else None
            out.append(ev)
    return out


def wait_events(s, pred, what):
    return harness.wait_for(lambda: (lambda evs: evs if pred(evs) else None)(stream_events(s)), timeout=30,
                            what=what)


def sampler_publish(s, kind, task_code, plan_code, draw_no=1, reason=None):
    """A SamplerEvent on the sampler stream, as the sampler would publish it (acked by JetStream)."""
    subj = "%s.evt.sampler.13.01.90.%s.%s" % (s.prefix, OFFICE, {2: "drawn", 5: "settled", 7: "refused"}[kind])
    payload = pp.sampler_event(kind, task_code, plan_code, draw_no, reason, msg_id=secrets.token_hex(8))
    with s.nats() as nc:
        _, ack = nc.request(subj, payload, timeout=10)
    assert b'"seq"' in ack, ack


def seed_task(items, n, lead, coop, window, **over):
    """Task 联20230n of seed 000: untargeted, 1 %, enterprises established before 2022-12-31 and in existence."""
    f = dict(code="联20230%d" % n, name="2023年石家庄综合保税区部门联合抽查0%d" % n, kind=pp.JOINT, targeted=False,
             lead_dept=lead, cooperating_depts=coop,
             items=[(d, codes_where(items, d)[:2]) for d in [lead] + coop], target_kind=pp.ENTERPRISE,
             scope=pp.target_filter(kinds=[pp.ENTERPRISE], statuses=[pp.EXISTING, pp.OPERATING],
                                    established_before="2022-12-31"),
             ratio_ppm=10000, inspectors_per_check=2, confirm_workdays=2, result_workdays=5,
             window_start=window[0], window_end=window[1])
    f.update(over)
    return f


SEED000 = [  # (n, lead, cooperating, window) — seed 000's table, the lead rotating
    (1, SCJ, [JFJ, JHJ, SWJ, RSJ], ("2023-03-01", "2023-04-30")),
    (2, JFJ, [SCJ, JHJ, SWJ, RSJ], ("2023-06-01", "2023-07-31")),
    (3, SWJ, [SCJ, JHJ, JFJ], ("2023-09-01", "2023-10-31")),
]


# ---- lifecycle -----------------------------------------------------------------------------------------------
def test_seed000_plan_lifecycle():
    s, items = planner_world()
    with s:
        c = Planner(s)
        # plan: code and seed-000 name set by the planner
        p = c.ok(OFFICE, "plan_create", plan=pp.plan(year=2023, kind=pp.JOINT, note="石综保双随机办〔2023〕1号"))["plan"]
        assert p["code"] == "2023-130190-J-1", p
        assert p["name"] == "2023年石家庄综合保税区部门联合抽查计划（第1号）", p
        assert (p["owner"], p["region"], p["seq"], p["published"], p["kind"]) == (OFFICE, ZONE, 1, False, pp.JOINT)
        p2 = c.ok(OFFICE, "plan_create", plan=pp.plan(year=2023, kind=pp.JOINT))["plan"]
        assert p2["code"] == "2023-130190-J-2" and p2["name"].endswith("（第2号）"), p2
        pi = c.ok(SCJ, "plan_create", plan=pp.plan(year=2023, kind=pp.INTERNAL))["plan"]
        assert pi["code"] == "2023-130190-I-1", pi
        assert pi["name"] == "2023年石家庄综合保税区石家庄市市场监督管理局综合保税区分局部门内部抽查计划（第1号）", pi
        code = p["code"]

        # who may do what
        c.err(pp.ERR_FORBIDDEN, "may read plans and tasks but not plan_create", "OPS", "plan_create",
              region="000000", plan=pp.plan(year=2023, kind=pp.JOINT))
        c.err(pp.ERR_UNKNOWN_DEPT, "not registered", "130190XXX", "plan_create",
              plan=pp.plan(year=2023, kind=pp.JOINT))
        c.err(pp.ERR_FORBIDDEN, "belongs to region 130190, not 130102", SCJ, "plan_get", region="130102",
              plan_code=code)

        # the three joint tasks of seed 000
        for n, lead, coop, window in SEED000:
            t = c.ok(OFFICE, "task_create", plan_code=code, task=pp.task(**seed_task(items, n, lead, coop, window)))["task"]
            assert (t["code"], t["state"], t["version"], t["plan_code"]) == ("联20230%d" % n, pp.DRAFT, 1, code), t
            assert t["commitment"] == "" and 31 not in t["fields"], t
            assert t["scope"]["regions"] == [ZONE] and t["stratify"] == 1 and t["targeted"] is False, t
            assert t["lead_dept"] == lead and t["cooperating_depts"] == coop, t
        c.err(pp.ERR_CONFLICT, "already has a task 联202301", OFFICE, "task_create", plan_code=code,
              task=pp.task(**seed_task(items, 1, *SEED000[0][1:])))
        c.err(pp.ERR_FORBIDDEN, "belongs to department 130190SSJ", SCJ, "task_create", plan_code=code,
              task=pp.task(**seed_task(items, 4, SCJ, [JFJ], ("2023-11-01", "2023-11-30"))))
        c.err(pp.ERR_FORBIDDEN, "unpublished draft", SCJ, "plan_get", plan_code=code)
        ops = c.ok("OPS", "plan_get", region="000000", plan_code=code)["plan"]
        assert [t["code"] for t in ops["tasks"]] == ["联202301", "联202302", "联202303"], ops
        c.err(pp.ERR_CONFLICT, "DRAFT: publish it", OFFICE, "task_draw", plan_code=code, task_code="联202301")
        c.err(pp.ERR_CONFLICT, "plan_publish", OFFICE, "task_publish", plan_code=code, task_code="联202301")

        # publication: plan + three tasks in one transaction, each with its own commitment; a retry of the
        # same msg_id answers the same bytes and publishes nothing twice
        mid = "publish-" + secrets.token_hex(4)
        r, raw = c.req(OFFICE, "plan_publish", msg_id=mid, plan_code=code)
        assert r["error"] == pp.OK and r["plan"]["published"], r
        commits = {t["code"]: t["commitment"] for t in r["plan"]["tasks"]}
        assert all(HEX64.match(x) for x in commits.values()) and len(set(commits.values())) == 3, commits
        assert all(t["state"] == pp.PUBLISHED and t["version"] == 1 for t in r["plan"]["tasks"]), r
        _, raw2 = c.req(OFFICE, "plan_publish", msg_id=mid, plan_code=code)
        assert raw2 == raw
        c.err(pp.ERR_CONFLICT, "already published", OFFICE, "plan_publish", plan_code=code)
        # the stored nonce is what the commitment commits to, and no reply or publication event carries it
        rows = s.psql("SELECT code, encode(sha256(nonce), 'hex'), commitment, length(nonce) FROM planner.task "
                      "WHERE plan_code = '%s'" % code)
        assert {r_[0]: r_[1] for r_ in rows} == commits and all(r_[2] == r_[1] and r_[3] == "32" for r_ in rows)
        evs = wait_events(s, lambda e: sum(x["kind"] == pp.TASK_PUBLISHED for x in e) == 3, "TASK_PUBLISHED x3")
        pubs = [e for e in evs if e["nats_msg_id"] and e["nats_msg_id"].startswith("planner:%s:%s:" % (OFFICE, mid))]
        assert [e["kind"] for e in pubs] == [pp.PLAN_PUBLISHED] + [pp.TASK_PUBLISHED] * 3, pubs
        for e in pubs[1:]:
            assert e["nonce"] is None and e["task"]["commitment"] == commits[e["task"]["code"]], e
            assert e["subject"] == "%s.evt.planner.13.01.90.%s.task_published" % (s.prefix, OFFICE), e
            assert e["correlation_id"] == mid and e["at_ms"] > 0, e
        assert sum(e["kind"] == pp.PLAN_CREATED for e in evs) == 3
        assert c.ok(SCJ, "plan_get", plan_code=code)["plan"]["published"]  # published plans are public
        got = c.ok(RSJ, "task_get", plan_code=code, task_code="联202302")["task"]
        assert got["commitment"] == commits["联202302"] and got["state"] == pp.PUBLISHED, got
        # a task added to a published plan: a draft only its owner sees, until task_publish
        t4 = seed_task(items, 4, JHJ, [SCJ, RSJ], ("2023-11-01", "2023-11-30"))
        c.ok(OFFICE, "task_create", plan_code=code, task=pp.task(**t4))
        assert len(c.ok(SCJ, "plan_get", plan_code=code)["plan"]["tasks"]) == 3
        assert len(c.ok(OFFICE, "plan_get", plan_code=code)["plan"]["tasks"]) == 4
        c.err(pp.ERR_FORBIDDEN, "unpublished draft", SCJ, "task_get", plan_code=code, task_code="联202304")
        t = c.ok(OFFICE, "task_publish", plan_code=code, task_code="联202304")["task"]
        assert t["state"] == pp.PUBLISHED and HEX64.match(t["commitment"]), t
        assert t["commitment"] not in commits.values()
        c.err(pp.ERR_CONFLICT, "only a DRAFT task can be published", OFFICE, "task_publish", plan_code=code,
              task_code="联202304")
        assert len(c.ok(SCJ, "plan_get", plan_code=code)["plan"]["tasks"]) == 4

        # adjustment of a published task: reason required, new kept version, commitment kept
        adj = seed_task(items, 1, *SEED000[0][1:])
        adj["window_end"] = "2023-05-15"
        c.err(pp.ERR_MISSING_FIELD, "reason: required", OFFICE, "task_adjust", plan_code=code,
              task_code="联202301", task=pp.task(**adj))
        why = "受五一假期影响，检查时间延长至5月15日"
        t = c.ok(OFFICE, "task_adjust", plan_code=code, task_code="联202301", task=pp.task(**adj), reason=why)["task"]
        assert (t["version"], t["window_end"], t["commitment"]) == (2, "2023-05-15", commits["联202301"]), t
        c.err(pp.ERR_BAD_VALUE, "identical to the current version 2", OFFICE, "task_adjust", plan_code=code,
              task_code="联202301", task=pp.task(**adj), reason=why)
        c.err(pp.ERR_BAD_VALUE, "code cannot change", OFFICE, "task_adjust", plan_code=code,
              task_code="联202301", task=pp.task(**dict(adj, code="联202309")), reason=why)
        vers = s.psql("SELECT v.version, coalesce(v.reason, '') FROM planner.task_version v JOIN planner.task t "
                      "ON t.id = v.task_id WHERE t.code = '联202301' ORDER BY v.version")
        assert vers == [("1", ""), ("2", why)], vers
        evs = wait_events(s, lambda e: any(x["kind"] == pp.TASK_ADJUSTED for x in e), "TASK_ADJUSTED")
        a = [e for e in evs if e["kind"] == pp.TASK_ADJUSTED]
        assert len(a) == 1 and a[0]["reason"] == why and a[0]["task"]["version"] == 2, a

        # draw order: the nonce travels to the sampler, once; a second order is refused while one waits
        mid = "draw-" + secrets.token_hex(4)
        r, raw = c.req(OFFICE, "task_draw", msg_id=mid, plan_code=code, task_code="联202301",
                       entropy="2023055:3 7 1", entropy_source="福彩3D 2023-03-02 第2023055期")
        assert r["error"] == pp.OK and r["task"]["state"] == pp.PUBLISHED, r
        assert c.req(OFFICE, "task_draw", msg_id=mid, plan_code=code, task_code="联202301",
                     entropy="2023055:3 7 1", entropy_source="福彩3D 2023-03-02 第2023055期")[1] == raw
        c.err(pp.ERR_CONFLICT, "draw already ordered", OFFICE, "task_draw", plan_code=code, task_code="联202301")
        c.err(pp.ERR_CONFLICT, "has not reported yet", OFFICE, "task_adjust", plan_code=code,
              task_code="联202301", task=pp.task(**adj), reason="x")
        evs = wait_events(s, lambda e: any(x["kind"] == pp.TASK_DRAW_ORDERED for x in e), "TASK_DRAW_ORDERED")
        d = [e for e in evs if e["kind"] == pp.TASK_DRAW_ORDERED]
        assert len(d) == 1, d
        d = d[0]
        assert len(d["nonce"]) == 32 and hashlib.sha256(d["nonce"]).hexdigest() == commits["联202301"], d
        assert (d["entropy"], d["entropy_source"], d["redraw"], d["force"]) == (
            "2023055:3 7 1", "福彩3D 2023-03-02 第2023055期", False, False), d
        assert d["task"]["version"] == 2 and d["plan"]["region"] == ZONE and d["plan"]["tasks"] == [], d
        assert d["subject"].endswith(".%s.draw_ordered" % OFFICE), d

        # the sampler reports: DRAWN, then CONFIRMING
        sampler_publish(s, pp.DRAW_COMPLETED, "联202301", code, draw_no=1)
        harness.wait_for(lambda: c.ok(OFFICE, "task_get", plan_code=code, task_code="联202301")["task"]["state"]
                         == pp.CONFIRMING, timeout=30, what="task 联202301 CONFIRMING")
        evs = wait_events(s, lambda e: sum(x["kind"] == pp.TASK_STATE for x in e) >= 2, "TASK_STATE events")
        st = [(e["task"]["code"], e["task"]["state"]) for e in evs if e["kind"] == pp.TASK_STATE]
        assert st == [("联202301", pp.DRAWN), ("联202301", pp.CONFIRMING)], st
        n_before = len(evs)
        sampler_publish(s, pp.DRAW_COMPLETED, "联202301", code, draw_no=1)  # a second part: changes nothing
        sampler_publish(s, pp.DRAW_SETTLED, "联202301", code, draw_no=1)    # the matcher's business
        harness.wait_for(lambda: int(s.psql("SELECT count(*) FROM planner.task_log WHERE what = 'draw_settled'")
                                     [0][0]) == 1, timeout=30, what="DRAW_SETTLED consumed")
        assert len(stream_events(s)) == n_before
        assert c.ok(OFFICE, "task_get", plan_code=code, task_code="联202301")["task"]["state"] == pp.CONFIRMING

        # a draw is never silently redone: redraw needs the flag and a reason
        c.err(pp.ERR_CONFLICT, "never deleted or silently redone", OFFICE, "task_draw", plan_code=code,
              task_code="联202301")
        c.err(pp.ERR_MISSING_FIELD, "reason: required for a redraw", OFFICE, "task_draw", plan_code=code,
              task_code="联202301", redraw=True)
        c.ok(OFFICE, "task_draw", plan_code=code, task_code="联202301", redraw=True, reason="抽取名单中企业已注销过半")
        evs = wait_events(s, lambda e: sum(x["kind"] == pp.TASK_DRAW_ORDERED for x in e) == 2, "redraw order")
        rd = [e for e in evs if e["kind"] == pp.TASK_DRAW_ORDERED][-1]
        assert rd["redraw"] and rd["reason"] == "抽取名单中企业已注销过半" and rd["entropy"] == "", rd
        # the first nonce is public in the first draw record: a redraw gets a fresh one, committed
        # (the task in the order carries the new commitment) before the sampler freezes
        assert rd["task"]["commitment"] != commits["联202301"], rd["task"]
        assert hashlib.sha256(rd["nonce"]).hexdigest() == rd["task"]["commitment"]
        commits["联202301"] = rd["task"]["commitment"]
        assert s.psql("SELECT count(*) FROM planner.draw_order o JOIN planner.task t ON t.id = o.task_id "
                      "WHERE t.code = '联202301'")[0][0] == "2"

        # a refused draw: back to PUBLISHED with the reason, and a new order may follow
        c.err(pp.ERR_MISSING_FIELD, "reason: required for a forced draw", OFFICE, "task_draw", plan_code=code,
              task_code="联202302", force=True)
        c.ok(OFFICE, "task_draw", plan_code=code, task_code="联202302")
        sampler_publish(s, pp.DRAW_REFUSED, "联202302", code, reason="capacity: 3 eligible inspectors for 8 checks")
        evs = wait_events(s, lambda e: any(x["kind"] == pp.TASK_STATE and x["task"]["code"] == "联202302" for x in e),
                          "refusal")
        rf = [e for e in evs if e["kind"] == pp.TASK_STATE and e["task"]["code"] == "联202302"]
        assert len(rf) == 1 and rf[0]["task"]["state"] == pp.PUBLISHED and "capacity" in rf[0]["reason"], rf
        c.ok(OFFICE, "task_draw", plan_code=code, task_code="联202302", force=True, reason="邻区支援检查人员")

        # cancellation
        c.err(pp.ERR_MISSING_FIELD, "reason: required for a cancellation", OFFICE, "task_cancel",
              plan_code=code, task_code="联202303")
        t = c.ok(OFFICE, "task_cancel", plan_code=code, task_code="联202303", reason="税务局年度任务调整")["task"]
        assert t["state"] == pp.CANCELLED, t
        c.err(pp.ERR_CONFLICT, "already CANCELLED", OFFICE, "task_cancel", plan_code=code, task_code="联202303",
              reason="again")
        c.err(pp.ERR_CONFLICT, "CANCELLED: it can no longer be drawn", OFFICE, "task_draw", plan_code=code,
              task_code="联202303")
        evs = wait_events(s, lambda e: any(x["kind"] == pp.TASK_CANCELLED for x in e), "TASK_CANCELLED")
        assert [e["reason"] for e in evs if e["kind"] == pp.TASK_CANCELLED] == ["税务局年度任务调整"]

        # plan adjustment (published: reason required, version 2)
        c.err(pp.ERR_MISSING_FIELD, "reason", OFFICE, "plan_adjust", plan_code=code,
              plan=pp.plan(note="第三次联合抽查取消"))
        pa = c.ok(OFFICE, "plan_adjust", plan_code=code, plan=pp.plan(note="第三次联合抽查取消"), reason="任务调整")["plan"]
        assert pa["version"] == 2 and pa["note"] == "第三次联合抽查取消", pa

        # concurrent copies of one request (a client retrying too early) get the one reply
        c.ok(OFFICE, "task_create", plan_code=p2["code"],
             task=pp.task(**seed_task(items, 1, SCJ, [JFJ], ("2023-03-01", "2023-04-30"))))
        mid = "concurrent-" + secrets.token_hex(4)
        replies = []

        def publish_copy():
            cc = Planner(s)
            replies.append(cc.req(OFFICE, "plan_publish", msg_id=mid, plan_code=p2["code"]))
            cc.close()

        threads = [threading.Thread(target=publish_copy) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(replies) == 4 and len({raw for _, raw in replies}) == 1, replies
        assert replies[0][0]["error"] == pp.OK and replies[0][0]["plan"]["published"], replies[0]

        # nothing twice in the stream: every Nats-Msg-Id once
        evs = stream_events(s)
        ids = [e["nats_msg_id"] for e in evs]
        assert len(ids) == len(set(ids)) and None not in ids, ids
        assert s.psql("SELECT count(*) FROM planner.outbox")[0][0] == "0"
        m = s.metrics("planner")
        assert m['drip_planner_commands_total{result="replayed"}'] == 5, m
        assert m['drip_planner_commands_total{result="internal"}'] == 0, m

        # a restart keeps everything: state, versions, the consumers' positions
        s.stop("planner")
        s.start("planner")
        t = c.ok(OFFICE, "task_get", plan_code=code, task_code="联202301")["task"]
        assert (t["state"], t["version"], t["commitment"]) == (pp.CONFIRMING, 2, commits["联202301"]), t
        sampler_publish(s, pp.DRAW_COMPLETED, "联202301", code, draw_no=2)  # the redraw ordered above
        harness.wait_for(lambda: s.psql("SELECT count(*) FROM planner.draw_order WHERE status = 'completed'")[0][0]
                         == "2", timeout=30, what="redraw completed after restart")
        c.close()


# ---- validation ----------------------------------------------------------------------------------------------
def test_task_validation_errors():
    s, items = planner_world()
    with s:
        c = Planner(s)
        code = c.ok(OFFICE, "plan_create", plan=pp.plan(year=2023, kind=pp.JOINT))["plan"]["code"]
        icode = c.ok(SCJ, "plan_create", plan=pp.plan(year=2023, kind=pp.INTERNAL))["plan"]["code"]
        base = seed_task(items, 1, SCJ, [JFJ], ("2023-03-01", "2023-04-30"))
        base["items"] = [(SCJ, codes_where(items, SCJ, on_site=True)[:2]), (JFJ, codes_where(items, JFJ)[:1])]
        other = codes_where(items, JFJ)[3]
        indiv = codes_where(items, SCJ, kind="individual")[0]
        F = pp.target_filter

        def bad(code_, fragment, plan_code=code, dept=OFFICE, **over):
            return c.err(code_, fragment, dept, "task_create", plan_code=plan_code, task=pp.task(**dict(base, **over)))

        # plan
        c.err(pp.ERR_BAD_VALUE, "plan.year: 1999", OFFICE, "plan_create", plan=pp.plan(year=1999, kind=pp.JOINT))
        c.err(pp.ERR_MISSING_FIELD, "plan.kind", OFFICE, "plan_create", plan=pp.plan(year=2023))
        c.err(pp.ERR_BAD_ENUM, "plan.kind: unknown value 7", OFFICE, "plan_create", plan=pp.plan(year=2023, kind=7))
        c.err(pp.ERR_NOT_FOUND, "no plan 2023-130190-J-99", OFFICE, "plan_get", plan_code="2023-130190-J-99")
        # identity fields
        bad(pp.ERR_MISSING_FIELD, "task.code: required", code=None)
        bad(pp.ERR_BAD_VALUE, "task.code: too long", code="联" * 33)
        bad(pp.ERR_MISSING_FIELD, "task.name: required", name="")
        bad(pp.ERR_BAD_VALUE, "task.kind: INTERNAL, but plan", kind=pp.INTERNAL)
        # departments
        bad(pp.ERR_UNKNOWN_DEPT, "task.lead_dept: department 130190ZZZ is not registered", lead_dept="130190ZZZ")
        bad(pp.ERR_MISSING_FIELD, "task.cooperating_depts: a joint", cooperating_depts=[])
        bad(pp.ERR_BAD_VALUE, "task.cooperating_depts[0]: 130190SCJ is the lead", cooperating_depts=[SCJ])
        bad(pp.ERR_FORBIDDEN, "outside the hierarchy of the plan's region 130190", cooperating_depts=["130102SCJ"])
        bad(pp.ERR_MISSING_FIELD, "no items for participating department 130190JHJ", cooperating_depts=[JFJ, JHJ])
        # items
        bad(pp.ERR_UNKNOWN_REFERENCE, "department 130190SCJ has no item NOPE-1",
            items=[(SCJ, ["NOPE-1"]), (JFJ, codes_where(items, JFJ)[:1])])
        bad(pp.ERR_UNKNOWN_REFERENCE, "%s is an item of department 130190JFJ, not of 130190SCJ" % other,
            items=[(SCJ, [other]), (JFJ, codes_where(items, JFJ)[:1])])
        bad(pp.ERR_BAD_VALUE, "applies to INDIVIDUAL_BUSINESS targets",
            items=[(SCJ, [indiv]), (JFJ, codes_where(items, JFJ)[:1])])
        bad(pp.ERR_BAD_VALUE, "task.items[2].dept: 130190RSJ is neither",
            items=base["items"] + [(RSJ, codes_where(items, RSJ)[:1])])
        bad(pp.ERR_MISSING_FIELD, "task.target_kind: required", target_kind=None)
        # scope
        bad(pp.ERR_BAD_VALUE, "capital_min: 10000000 is greater than capital_max 5000000", targeted=True,
            scope=F(capital_min=10_000_000, capital_max=5_000_000))
        bad(pp.ERR_BAD_VALUE, "task.scope.capital_min: -1 is outside", targeted=True, scope=F(capital_min=-1))
        bad(pp.ERR_BAD_DATE, "task.scope.established_before", scope=F(established_before="2022-02-30"))
        bad(pp.ERR_BAD_DATE, "established_after: 2022-06-01 is later than established_before 2022-01-01",
            scope=F(established_before="2022-01-01", established_after="2022-06-01"))
        bad(pp.ERR_BAD_REGION, "task.scope.regions[0]: region 139999 does not exist", scope=F(regions=["139999"]))
        bad(pp.ERR_BAD_REGION, "region 130102 is outside the plan's region 130190", scope=F(regions=["130102"]))
        bad(pp.ERR_BAD_REGION, "task.scope.regions[0]", scope=F(regions=["13019"]))
        bad(pp.ERR_BAD_ENUM, "task.scope.statuses[1]: unknown", scope=F(statuses=[pp.EXISTING, 99]))
        bad(pp.ERR_BAD_VALUE, "task.scope.kinds[0]: INDIVIDUAL_BUSINESS contradicts", scope=F(kinds=[2]))
        bad(pp.ERR_BAD_VALUE, "task.scope.industries[0]", targeted=True, scope=F(industries=["C99"]))
        bad(pp.ERR_MISSING_FIELD, "a targeted (定向) task needs a scope", targeted=True, scope=None)
        bad(pp.ERR_BAD_VALUE, "task.scope.industries: an untargeted", scope=F(industries=["C13"]))
        # quota
        bad(pp.ERR_BAD_VALUE, "exactly one of ratio_ppm, class_ratios and count (got ratio_ppm and count)", count=50)
        bad(pp.ERR_MISSING_FIELD, "one of ratio_ppm, class_ratios or count is required", ratio_ppm=None)
        bad(pp.ERR_BAD_VALUE, "task.ratio_ppm: 0 is outside 1..1000000", ratio_ppm=0)
        bad(pp.ERR_BAD_VALUE, "task.ratio_ppm: 1000001", ratio_ppm=1_000_001)
        bad(pp.ERR_BAD_VALUE, "task.count: 0", ratio_ppm=None, count=0)
        bad(pp.ERR_BAD_VALUE, "CLASS_D appears twice", ratio_ppm=None,
            class_ratios=[(pp.CLASS_D, 300000), (pp.CLASS_C, 100000), (pp.CLASS_D, 20000)])
        bad(pp.ERR_BAD_VALUE, "class_ratios[0].ratio_ppm: 0", ratio_ppm=None, class_ratios=[(pp.CLASS_A, 0)])
        bad(pp.ERR_BAD_VALUE, "stratify is false", ratio_ppm=None, class_ratios=[(pp.CLASS_A, 10000)],
            stratify=False)
        # staffing, deadlines, window
        bad(pp.ERR_BAD_VALUE, "task.inspectors_per_check: 1, but item 130190SCJ/", inspectors_per_check=1)
        bad(pp.ERR_BAD_VALUE, "task.inspectors_per_check: 11 is outside 1..10", inspectors_per_check=11)
        bad(pp.ERR_MISSING_FIELD, "task.confirm_workdays: required", confirm_workdays=None)
        bad(pp.ERR_BAD_VALUE, "task.confirm_workdays: 31", confirm_workdays=31)
        bad(pp.ERR_BAD_VALUE, "task.result_workdays: 61", result_workdays=61)
        bad(pp.ERR_BAD_DATE, "task.window_end: 2024-01-15 is outside the plan's year 2023", window_end="2024-01-15")
        bad(pp.ERR_BAD_DATE, "task.window_start: 2022-12-01 is outside the plan's year 2023",
            window_start="2022-12-01")
        bad(pp.ERR_BAD_DATE, "task.window_end: 2023-02-01 is before window_start", window_end="2023-02-01")
        bad(pp.ERR_BAD_DATE, "task.window_start", window_start="2023-13-01")
        bad(pp.ERR_BAD_VALUE, "but max_inspections_per_year is 0", cap_exempt_classes=[pp.CLASS_D])
        bad(pp.ERR_BAD_ENUM, "task.cap_exempt_classes[0]: unknown value 9", max_inspections_per_year=2,
            cap_exempt_classes=[9])
        # internal plans
        ibase = dict(kind=pp.INTERNAL, lead_dept=SCJ, cooperating_depts=[],
                     items=[(SCJ, codes_where(items, SCJ, on_site=False)[:1])])
        bad(pp.ERR_BAD_VALUE, "an internal (内部) task has no cooperating", plan_code=icode, dept=SCJ,
            **dict(ibase, cooperating_depts=[JFJ]))
        bad(pp.ERR_FORBIDDEN, "an internal task is led by the plan's department 130190SCJ", plan_code=icode,
            dept=SCJ, **dict(ibase, lead_dept=JFJ, items=[(JFJ, codes_where(items, JFJ)[:1])]))
        # nothing was stored by any of these
        assert s.psql("SELECT count(*) FROM planner.task")[0][0] == "0"

        # accepted: documentary-only items with one inspector (internal), and a targeted seed-001 style scope
        t = c.ok(SCJ, "task_create", plan_code=icode, task=pp.task(**dict(base, **ibase, code="内202301",
                                                                               inspectors_per_check=1)))["task"]
        assert t["inspectors_per_check"] == 1 and t["kind"] == pp.INTERNAL, t
        # a refused request is not remembered: the corrected retry under the same msg_id is processed
        mid = "retry-" + secrets.token_hex(4)
        r, _ = c.req(OFFICE, "task_create", msg_id=mid, plan_code=code, task=pp.task(**dict(base, ratio_ppm=0)))
        assert r["error"] == pp.ERR_BAD_VALUE, r
        seed001 = dict(base, targeted=True, scope=F(kinds=[pp.ENTERPRISE], ownerships=[pp.DOMESTIC],
                                                    statuses=[pp.EXISTING, pp.OPERATING],
                                                    capital_min=5_000_000, capital_max=10_000_000))
        r1, raw1 = c.req(OFFICE, "task_create", msg_id=mid, plan_code=code, task=pp.task(**seed001))
        assert r1["error"] == pp.OK and r1["task"]["scope"]["capital_min"] == 5_000_000, r1
        r2, raw2 = c.req(OFFICE, "task_create", msg_id=mid, plan_code=code, task=pp.task(**seed001))
        assert raw2 == raw1  # the accepted one is

        # draft adjustment replaces it without a reason or a new version
        t = c.ok(OFFICE, "task_adjust", plan_code=code, task_code="联202301",
                 task=pp.task(**dict(seed001, ratio_ppm=20000)))["task"]
        assert (t["ratio_ppm"], t["version"], t["state"]) == (20000, 1, pp.DRAFT), t

        # malformed requests
        hdr = pb.envelope("m1", SCJ, ZONE)
        r = pp.decode_reply(c.raw(JFJ, "plan_get", pp.plan_command(hdr, plan_code=code)))
        assert r["error"] == pp.ERR_BAD_ENVELOPE and "dept" in r["message"], r
        r = pp.decode_reply(c.raw(SCJ, "plan.get", pp.plan_command(hdr, plan_code=code)))
        assert r["error"] == pp.ERR_BAD_ENVELOPE and "plan_get, not plan.get" in r["message"], r
        colon = pb.envelope("m1", SCJ + ":x", ZONE)
        r = pp.decode_reply(c.raw(SCJ + ":x", "plan_get", pp.plan_command(colon, plan_code=code)))
        assert r["error"] == pp.ERR_BAD_ENVELOPE and "subject department" in r["message"], r
        r = pp.decode_reply(c.raw(SCJ, "plan_frob", pp.plan_command(hdr, plan_code=code)))
        assert r["error"] == pp.ERR_BAD_MESSAGE and "unknown verb 'plan_frob'" in r["message"], r
        r = pp.decode_reply(c.raw(SCJ, "plan_get", b"\xff\xff\xff\xff\x0f" * 10))
        assert r["error"] == pp.ERR_BAD_MESSAGE and "PlanCommand" in r["message"], r
        r = pp.decode_reply(c.raw(SCJ, "plan_list", pp.plan_command(hdr)))
        assert r["error"] == pp.ERR_BAD_MESSAGE and "plan_get" in r["message"], r
        assert harness.http_get(s.url("planner", "/healthz"))[0] == 200
        c.close()


if __name__ == "__main__":
    harness.main(globals())
