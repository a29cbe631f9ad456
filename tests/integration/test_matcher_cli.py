"""`dripctl match show|pool|report|verify|assign` against the real drip-matcher (registry + matcher running; the
planner's and the sampler's events are played by the test, as in test_matcher.py, whose World is reused).

A small run (10 confirmed targets, k = 3; the district SCJ's pool is short, so its slots take the city's and the
neighbour district's inspectors and one slot stays unstaffed; the tax bureau draws a standing team). Then, as the
district department:
  show      the text names the run, every form and every inspector on it; --json parses and equals what the
            matcher serves (decoded independently with pb_matcher); --uscc; a task never matched: exit 4
  pool -o   the file's SHA-256 is the run's pool_digest (and the bytes are those match_pool serves)
  report    the per-department numbers of match_report, as text and --json
  verify    online it also asks drip-sampler for the draw record (DrawQuery): with no sampler it cannot finish
            (exit 2, "no responders"); with the sampler played by this test (a responder on
            <prefix>.samp.cmd.>) VALID, exit 0, and INVALID, exit 6, when that record disagrees. Offline
            (--record from show --json, --pool from pool -o) VALID without any connection; an inspector swapped
            in the JSON, or a changed pool byte: INVALID, exit 6
  assign    completes the unstaffed slot (DIRECT, version 2, report and verify account for it); refusals: an
            inspector already on the form or recused (exit 5), another department's slot (exit 5), a target
            without a form (exit 4), no --reason (usage, exit 1)

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... python3 tests/integration/test_matcher_cli.py
"""
import hashlib
import json
import re
import socket
import threading

import harness
import pb
import pb_matcher as pm
import pb_sampler as ps
from test_matcher import CITY, NEIGH, PLAN, SCJ, SWJ, insp, make_world, targets

TASK = "联2024C1"
SEED = hashlib.sha256(b"matcher cli").hexdigest()
PARTICIPANTS = [SCJ["dept"], SWJ["dept"]]
ROLE = {pm.MEMBER: "member", pm.EXPERT: "expert"}
SOURCE = {pm.LOCAL: "local", pm.PARENT: "parent", pm.NEIGHBOUR: "neighbour", pm.DIRECT: "direct"}
EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_INVALID = 0, 1, 2, 4, 5, 6


def draw_record(task, plan, seed, confirmed, rejected=(), draw_no=1):
    """A DrawRecord (sampler.proto) with the given confirmed / rejected targets."""
    sel = b"".join(pb.f_bytes(14, pb.f_bytes(1, u) + pb.f_bytes(2, "-") + pb.f_varint(6, ps.CONFIRMED))
                   for u in confirmed)
    sel += b"".join(pb.f_bytes(14, pb.f_bytes(1, u) + pb.f_bytes(2, "-") + pb.f_varint(6, ps.REJECTED))
                    for u in rejected)
    return (pb.f_bytes(1, task) + pb.f_bytes(2, plan) + pb.f_varint(3, draw_no) + pb.f_bytes(4, "drip-draw-v1")
            + pb.f_bytes(13, seed) + sel + b"".join(pb.f_bytes(20, d) for d in PARTICIPANTS))


class FakeSampler:
    """Plays drip-sampler's request/reply side for `dripctl match verify`: answers every
    <prefix>.samp.cmd.PP.CC.DD.DEPT.draw_get with DrawReply{record} and records the requests (subject, DrawQuery
    decoded). Raw NATS protocol on a harness.Nats connection, in a thread; close() ends it."""

    def __init__(self, s, record):
        self.record = record
        self.requests = []
        self.nc = s.nats()
        r = self.nc.subscribe(s.prefix + ".samp.cmd.>")
        if r != "+OK":
            raise harness.HarnessError("subscribe: %s" % r)
        self.nc.sock.settimeout(None)      # blocks until close() shuts the socket down (+OK: SUB is registered)
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        try:
            while True:
                line = self.nc._line()
                if line == "PING":
                    self.nc._send("PONG\r\n")
                    continue
                if not (line.startswith("MSG ") or line.startswith("HMSG ")):
                    continue                # +OK of our own PUBs
                p = line.split()
                total = int(p[-1])
                raw = self.nc.f.read(total + 2)[:total]
                if p[0] == "HMSG":
                    hlen = int(p[-2])
                    subject, reply, payload = p[1], (p[3] if len(p) == 6 else None), raw[hlen:]
                else:
                    subject, reply, payload = p[1], (p[3] if len(p) == 5 else None), raw
                self.requests.append((subject, ps.decode_msg(payload, {2: ("task_code", "s"), 3: ("draw_no", "u"),
                                                                       4: ("plan_code", "s")})))
                if not reply:
                    continue
                if subject.endswith(".draw_get"):
                    data = (pb.f_bytes(1, ps.envelope("fake-sampler", "SAMPLER", "000000"))
                            + pb.f_bytes(4, self.record) + pb.f_varint(5, 1))
                else:
                    data = pb.f_bytes(1, ps.envelope("fake-sampler", "SAMPLER", "000000")) + pb.f_varint(2, 2)
                self.nc._send(("PUB %s %d\r\n" % (reply, len(data))).encode() + data + b"\r\n")
        except (harness.HarnessError, OSError, ValueError):
            return

    def close(self):
        try:
            self.nc.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.nc.close()
        self.t.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def setup(s, w):
    """The fallback scenario of test_matcher (k = 3): L1, L2 locally (L3 lacks the tag), C1 at the city (declared
    conflicts with us[0..3]), N1 in the neighbour district; us[3] stays one short. Tax bureau: one team of 3."""
    us = targets(w, 12, seed=9)
    w.importf("inspector", [insp("L1", "本地一", "130102", quals="食品"),
                            insp("L2", "本地二", "130102", quals="食品", recusals=us[3]),
                            insp("L3", "本地三", "130102", quals="执法"),
                            insp("E01", "专家", "130102", quals="食品", expert="true")], SCJ)
    w.importf("inspector", [insp("C1", "市局一", "130100", quals="食品", recusals=";".join(us[:4]))], CITY)
    w.importf("inspector", [insp("N1", "邻区一", "130105", quals="食品")], NEIGH)
    w.importf("inspector", [insp("T%d" % i, "税%d" % i, "130102", quals="税务", team="A") for i in range(3)], SWJ)
    w.wait_projection()
    w.publish_task(TASK, {SCJ["dept"]: ["SP01"], SWJ["dept"]: ["SW01"]}, PARTICIPANTS, k=3)
    w.settle(TASK, SEED, PARTICIPANTS, us[:10], rejected=us[10:11])
    w.wait_matched(TASK)
    return us


def ctl(s, *args, who=SCJ, expect=EXIT_OK):
    r = s.dripctl(*args, dept=who["dept"], region=who["region"], check=False)
    assert r.returncode == expect, ("dripctl %s: exit %d, expected %d" % (" ".join(map(str, args)), r.returncode,
                                                                          expect), r.stdout[-3000:], r.stderr[-3000:])
    return r


def check_show_text(out, run, forms):
    head = ["match of task %s (plan %s), draw 1, drip-match-v1" % (TASK, PLAN),
            "seed:        %s" % SEED,
            "pool:        %d lines, digest %s" % (run["pool_lines"], run["pool_digest"]),
            "forms:       %d (inspectors per check 3, lead department 130100SCJ)" % len(forms),
            "unstaffed slots: %d, direct assignments: %d" % (run.get("unstaffed_slots", 0),
                                                             run.get("direct_assignments", 0)),
            "forms (%d):" % len(forms)]
    for h in head:
        assert h in out, (h, out[:2000])
    for d in run["depts"]:
        assert "\n  %s  " % d["dept"] in out, d["dept"]
    for f in forms:
        head = "#%d  %s  %s  region %s" % (f["seq"], f["uscc"], f["target_name"], f["target_region"])
        assert head in out, (head, out[:2000])
        for sl in f["depts"]:
            for x in sl.get("inspectors", []):
                assert re.search(r"\n      %s +%s +%s" % (re.escape(x["inspector"]), re.escape(x["name"]),
                                                           ROLE[x["role"]]), out), (f["uscc"], x["inspector"])
    unstaffed = [sl for f in forms for sl in f["depts"] if sl.get("unstaffed")]
    assert out.count("UNSTAFFED: short by") == len(unstaffed) >= 1
    assert "  PARENT" in out and "  NEIGHBOUR" in out and "(recused)" in out


def check_json(doc, run, forms):
    """`match show --json` equals the run and forms the matcher serves (decoded independently)."""
    jr = doc["run"]
    for k in ("task_code", "plan_code", "seed", "pool_digest", "pool_lines", "forms", "lead_dept",
              "inspectors_per_check", "unstaffed_slots", "direct_assignments", "draw_no"):
        assert jr[k] == run.get(k, 0), (k, jr[k], run.get(k))
    assert [d["dept"] for d in jr["depts"]] == [d["dept"] for d in run["depts"]]
    for jd, d in zip(jr["depts"], run["depts"]):
        assert (jd["cap"], jd["tier_sizes"], jd["teams"]) == (d.get("cap", 0), d["tier_sizes"], d.get("teams", False))
    assert len(doc["forms"]) == len(forms)
    for jf, f in zip(doc["forms"], forms):
        assert (jf["seq"], jf["uscc"], jf["target_ticket"], jf["version"]) == \
            (f["seq"], f["uscc"], f["target_ticket"], f["version"])
        for js, sl in zip(jf["depts"], f["depts"]):
            assert js["dept"] == sl["dept"] and js["short_by"] == sl.get("short_by", 0)
            got = [(x["inspector"], x["role"], x["source"], x["ticket"], x["load"]) for x in js["inspectors"]]
            want = [(x["inspector"], ROLE[x["role"]], SOURCE[x["source"]], x.get("ticket", ""),
                     x.get("load", 0) if x["source"] != pm.DIRECT else x.get("load")) for x in sl["inspectors"]]
            assert got == want, (f["uscc"], sl["dept"], got, want)
            assert [(x["inspector"], x["reason"]) for x in js["exclusions"]] == \
                [(x["inspector"], {pm.RECUSED: "recused", pm.ROTATION: "rotation"}[x["reason"]])
                 for x in sl.get("exclusions", [])]


def check_report_text(out, rep):
    run = rep["run"]
    assert ("fairness report of task %s (plan %s), draw 1: %d forms, pool %d lines, %d unstaffed slots, "
            "%d direct assignments" % (TASK, PLAN, run["forms"], run["pool_lines"], run.get("unstaffed_slots", 0),
                                       run.get("direct_assignments", 0))) in out, out[:500]
    blocks = {}
    for d in rep["depts"]:
        start = out.index("\n" + d["pool"]["dept"] + "  ") + 1
        blocks[d["pool"]["dept"]] = out[start:]
    for d in rep["depts"]:
        b, p, g = blocks[d["pool"]["dept"]], d["pool"], d.get
        want = ["cap %d form" % p.get("cap", 0),
                "pool tiers: " + ", ".join("%d %s %d" % (i, t or "-", n)
                                           for i, (t, n) in enumerate(zip(p["tier_depts"], p["tier_sizes"]))),
                "own inspectors %d; not in the pool: inactive %d, certificate expired %d, unqualified %d"
                % (p.get("inspectors", 0), p.get("inactive", 0), p.get("cert_expired", 0), p.get("unqualified", 0)),
                "load (forms per member, own pool): min %d, median %d, max %d"
                % (g("load_min", 0), g("load_median", 0), g("load_max", 0)),
                "exclusions: recused %d, rotation %d" % (g("recused", 0), g("rotation", 0)),
                "from the parent department %d, from neighbours %d, assigned directly %d"
                % (g("from_parent", 0), g("from_neighbours", 0), g("direct", 0)),
                "pairs of members %d, of which worked together more than once %d; most forms one pair shared %d"
                % (g("pairs", 0), g("repeated_pairs", 0), g("max_pair_count", 0)),
                "unstaffed slots %d" % g("unstaffed_slots", 0) + "".join(
                    (": " if i == 0 else " ") + u for i, u in enumerate(d.get("unstaffed_forms", [])[:20]))]
        for line in want:
            # the department's own block: before the next department's header line
            end = min([b.index("\n" + o + "  ") for o in blocks if o != p["dept"] and ("\n" + o + "  ") in b]
                      or [len(b)])
            assert line in b[:end], (p["dept"], line, b[:end])


def test_match_cli_against_the_daemon():
    s, w = make_world()
    with s:
        us = setup(s, w)
        run, forms = w.forms(TASK)
        lines = w.pool(TASK)
        rep = w.report(TASK)
        unst = [f for f in forms for sl in f["depts"] if sl["dept"] == SCJ["dept"] and sl.get("unstaffed")]
        assert [f["uscc"] for f in unst] == [us[3]], [f["uscc"] for f in unst]

        # show: text, PLAN/TASK, --uscc, another department reads it too, a task never matched
        out = ctl(s, "match", "show", TASK, "--plan", PLAN).stdout
        check_show_text(out, run, forms)
        assert ctl(s, "match", "show", "%s/%s" % (PLAN, TASK)).stdout == out
        assert ctl(s, "match", "show", TASK, "--plan", PLAN, who=SWJ).stdout == out
        one = ctl(s, "match", "show", TASK, "--plan", PLAN, "--uscc", us[3]).stdout
        assert one.count("\n#") == 1 and "  %s  " % us[3] in one and "UNSTAFFED: short by 1" in one, one
        r = ctl(s, "match", "show", TASK, "--plan", PLAN, "--uscc", us[11], expect=EXIT_NOT_FOUND)
        assert "no form" in r.stderr, r.stderr
        r = ctl(s, "match", "show", "联2024无", "--plan", PLAN, expect=EXIT_NOT_FOUND)
        assert "not_found" in r.stderr, r.stderr

        # show --json: parses, equals the served run and forms
        rec = ctl(s, "match", "show", TASK, "--plan", PLAN, "--json").stdout
        doc = json.loads(rec)
        check_json(doc, run, forms)
        record = s.path("match.json")
        with open(record, "w", encoding="utf-8") as f:
            f.write(rec)

        # pool -o: the file hashes to pool_digest; the summary on stderr
        pool = s.path("pool.txt")
        r = ctl(s, "match", "pool", TASK, "--plan", PLAN, "-o", pool)
        with open(pool, "rb") as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == run["pool_digest"] and data == lines
        assert "%d lines" % run["pool_lines"] in r.stderr and run["pool_digest"] in r.stderr, r.stderr
        assert ctl(s, "match", "pool", TASK, "--plan", PLAN).stdout.encode("utf-8") == lines

        # report: the per-department numbers, as text and as JSON
        check_report_text(ctl(s, "match", "report", TASK, "--plan", PLAN).stdout, rep)
        jrep = json.loads(ctl(s, "match", "report", TASK, "--plan", PLAN, "--json").stdout)
        for jd, d in zip(jrep["depts"], rep["depts"]):
            for k in ("load_min", "load_median", "load_max", "recused", "rotation", "from_parent",
                      "from_neighbours", "direct", "unstaffed_slots", "experts_short", "pairs", "repeated_pairs",
                      "max_pair_count"):
                assert jd[k] == d.get(k, 0), (d["pool"]["dept"], k, jd[k], d.get(k))
            assert jd["unstaffed_forms"] == d.get("unstaffed_forms", [])

        # verify online: it asks drip-sampler for the draw record; there is none in this world
        r = ctl(s, "match", "verify", TASK, "--plan", PLAN, "--retry-for", "0", expect=EXIT_UNREACHABLE)
        assert "no responders" in r.stderr and ".samp.cmd." in r.stderr and "drip-sampler" in r.stderr, r.stderr
        # ... with the sampler played by the test: VALID
        with FakeSampler(s, draw_record(TASK, PLAN, SEED, us[:10], us[10:11])) as fake:
            r = ctl(s, "match", "verify", TASK, "--plan", PLAN)
            assert r.stdout.rstrip().endswith("VALID") and "INVALID" not in r.stdout, r.stdout
            assert "draw 1: seed %s, 10 confirmed targets; 10 forms" % SEED in r.stdout, r.stdout
            assert "checked 10 forms, 20 slots" in r.stdout, r.stdout
            (subj, q), = [x for x in fake.requests if x[0].endswith(".draw_get")]
            assert subj == "%s.samp.cmd.13.01.02.130102SCJ.draw_get" % s.prefix, subj
            assert q.get("task_code") == TASK and q.get("plan_code") == PLAN and q.get("draw_no") == 1, q
        # ... and a draw record that disagrees (another seed; a confirmed target without a form): INVALID
        other = hashlib.sha256(b"another seed").hexdigest()
        with FakeSampler(s, draw_record(TASK, PLAN, other, us[:11])):
            r = ctl(s, "match", "verify", TASK, "--plan", PLAN, expect=EXIT_INVALID)
            assert "seed: the run says %s, the record of draw 1 says %s" % (SEED, other) in r.stdout, r.stdout
            assert "target %s is confirmed in draw 1 but has no form" % us[10] in r.stdout, r.stdout
            assert r.stdout.rstrip().endswith("INVALID (2 differences)"), r.stdout

        # verify offline (no connection needed): VALID
        off = ctl(s, "match", "verify", TASK, "--plan", PLAN, "--record", record, "--pool", pool,
                  "--retry-for", "0")
        assert off.stdout.rstrip().endswith("VALID"), off.stdout
        assert "draw record: not compared (offline" in off.stdout, off.stdout
        assert ctl(s, "match", "verify", "%s/%s" % (PLAN, TASK), "--record", record, "--pool", pool).returncode == 0
        # ... an inspector swapped in the JSON: INVALID
        f0 = next(f for f in doc["forms"] if f["uscc"] != us[3])
        sl = next(x for x in f0["depts"] if x["dept"] == SCJ["dept"])
        on = {x["inspector"] for d in f0["depts"] for x in d["inspectors"]}
        victim = next(x for x in sl["inspectors"] if x["role"] == "member")
        pool_members = sorted({ln.split(",")[3] for ln in lines.decode().splitlines()
                               if ln.startswith(SCJ["dept"] + ",") and ln.split(",")[4] == "-"})
        swap = next(k for k in pool_members if k not in on)
        bad_from, victim["inspector"] = victim["inspector"], swap
        tampered = s.path("tampered.json")
        with open(tampered, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        r = ctl(s, "match", "verify", TASK, "--plan", PLAN, "--record", tampered, "--pool", pool,
                expect=EXIT_INVALID)
        assert "INVALID" in r.stdout and f0["uscc"] in r.stdout and swap in r.stdout, r.stdout
        print("tampered record (%s -> %s on %s):\n%s" % (bad_from, swap, f0["uscc"], r.stdout), flush=True)
        # ... a changed pool byte: INVALID (the digest)
        bad_pool = s.path("pool-bad.txt")
        with open(bad_pool, "wb") as f:
            f.write(data.replace(b",E,", b",-,", 1) if b",E," in data else data + b"x\n")
        r = ctl(s, "match", "verify", TASK, "--plan", PLAN, "--record", record, "--pool", bad_pool,
                expect=EXIT_INVALID)
        assert "pool_digest: the run says %s" % run["pool_digest"] in r.stdout, r.stdout

        # assign: refusals first (nothing changes), then the unstaffed slot completed
        u = us[3]
        slot = next(x for x in unst[0]["depts"] if x["dept"] == SCJ["dept"])
        on_u = [x["inspector"] for d in unst[0]["depts"] for x in d["inspectors"]]
        r = ctl(s, "match", "assign", TASK, "--plan", PLAN, "--uscc", u, "--inspector", on_u[0],
                "--reason", "补足", expect=EXIT_REFUSED)
        assert "already on this form" in r.stderr, r.stderr
        r = ctl(s, "match", "assign", TASK, "--plan", PLAN, "--uscc", u, "--inspector", "130102SCJ/L2",
                "--reason", "补足", expect=EXIT_REFUSED)
        assert "declared a conflict" in r.stderr, r.stderr
        r = ctl(s, "match", "assign", TASK, "--plan", PLAN, "--uscc", u, "--inspector", "130102SWJ/T0",
                "--dept", SWJ["dept"], "--reason", "补足", expect=EXIT_REFUSED)
        assert "may assign only to its own slots" in r.stderr, r.stderr
        r = ctl(s, "match", "assign", TASK, "--plan", PLAN, "--uscc", us[11], "--inspector", "130102SCJ/L3",
                "--reason", "补足", expect=EXIT_NOT_FOUND)
        assert "no form for %s" % us[11] in r.stderr, r.stderr
        r = ctl(s, "match", "assign", TASK, "--plan", PLAN, "--uscc", u, "--inspector", "130102SCJ/L3",
                expect=EXIT_USAGE)
        assert "--reason" in r.stderr, r.stderr
        assert w.forms(TASK)[1] == forms          # refusals changed nothing
        assert slot["short_by"] == 1
        r = ctl(s, "match", "assign", TASK, "--plan", PLAN, "--uscc", u, "--inspector", "130102SCJ/L3",
                "--reason", "本地人员不足，直接委派")
        assert "form of %s after the assignment (version 2):" % u in r.stdout, r.stdout
        assert re.search(r"130102SCJ/L3 +本地三 +member +DIRECT  by 130102SCJ at .*: 本地人员不足，直接委派", r.stdout), \
            r.stdout
        assert "UNSTAFFED" not in r.stdout, r.stdout
        run2, forms2 = w.forms(TASK)
        f2 = next(f for f in forms2 if f["uscc"] == u)
        assert f2["version"] == 2 and run2["direct_assignments"] == 1
        one = ctl(s, "match", "show", TASK, "--plan", PLAN, "--uscc", u).stdout
        assert "(version 2)" in one and "DIRECT" in one and "UNSTAFFED" not in one, one
        rep2 = w.report(TASK)
        check_report_text(ctl(s, "match", "report", TASK, "--plan", PLAN).stdout, rep2)
        assert "1 direct assignments" in ctl(s, "match", "report", TASK, "--plan", PLAN).stdout
        # the assignment is outside the draw: verify lists it and stays VALID (online and offline)
        rec2 = s.path("match2.json")
        with open(rec2, "w", encoding="utf-8") as f:
            f.write(ctl(s, "match", "show", TASK, "--plan", PLAN, "--json").stdout)
        r = ctl(s, "match", "verify", TASK, "--plan", PLAN, "--record", rec2, "--pool", pool)
        assert r.stdout.rstrip().endswith("VALID"), r.stdout
        assert re.search(r"outside the draw: form #%d %s, 130102SCJ: 130102SCJ/L3 \(member\) assigned directly by "
                         r"130102SCJ: 本地人员不足，直接委派" % (f2["seq"], u), r.stdout), r.stdout
        assert "1 direct assignments outside the draw" in r.stdout, r.stdout
        with FakeSampler(s, draw_record(TASK, PLAN, SEED, us[:10], us[10:11])):
            r = ctl(s, "match", "verify", TASK, "--plan", PLAN)
            assert r.stdout.rstrip().endswith("VALID"), r.stdout


if __name__ == "__main__":
    harness.main(globals())
