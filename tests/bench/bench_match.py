"""deploy/dev bench match — one drip-match-v1 run at provincial scale: BENCH_TARGETS confirmed targets (default
100 000) x 3 participating departments, BENCH_INSPECTORS inspectors (default 30 000), timed from publishing the
DRAW_SETTLED (all its parts) to

  commit      every form committed (the run's transaction: forms, form_member rows, outbox rows), and
  dispatched  every event of the run relayed to JetStream (<PREFIX>_MATCHER holds all of them),

against a raw COPY baseline measured in the same run on the same server: the same output rows — the run's form
rows (same bodies), form_member rows and outbox rows (same subjects, msg ids and payloads, read back from the
stream since the relay deletes them) — COPYed FROM files into fresh tables with the same columns and indexes
(CREATE TABLE ... (LIKE matcher.x INCLUDING ALL)), in one transaction; only the COPY FROM is timed. A
CHECKPOINT precedes both the run and the baseline. Goal: commit and dispatched <= 3 x COPY.

World (a scratch database and prefix on the running servers; drip-registry + drip-matcher, the planner's and
the sampler's parts played by the bench as in tests/integration/test_matcher.py):
  * departments 130000SCJ (lead; its food item has Item.experts = 1), 130000SWJ and 130000YJJ, all at region
    130000 (the two latter registered by the bench); inspectors_per_check 2; each department's items require a
    qualification tag (食品安全 / 税务稽查 / 安全生产);
  * targets spread over Hebei's 190 county-level regions of data/regions-gbt2260.csv with uneven (log-normal)
    weights; a smaller BENCH_TARGETS uses proportionally fewer districts, so that pools keep their size. By
    default they are written straight into the matcher's target projection (matcher.target, COPY as the
    superuser, then VACUUM ANALYZE) — like bench_draw.py fills the sampler's projection — so the bench measures
    the matching, not the registry import (bench_registry.py measures that). BENCH_TARGETS_VIA=registry
    imports them through the bus instead (dripctl gen enterprises --regions 130000 + dripctl registry import as
    130000SCJ, then waits for the matcher's projection; set-up, timed and printed, not part of the measurement;
    gen spreads them over all 190 districts whatever the size, so small runs get small pools);
  * inspectors imported with `dripctl registry import --kind inspector` (one CSV per department, timed as
    setup), posted at district offices (Inspector.region = a county-level code) in proportion to the targets
    per district, so every pool (department, district) is a realistic few dozen people at full size:
    ~85 % hold the department's tag, ~5 % have a certificate expiring before the window ends, 3 % inactive,
    8 % of 130000SCJ's are experts, 2 % declared a conflict with a target of their district;
  * every target is CONFIRMED in a DRAW_SETTLED of 5 000 targets per part (the sampler's part size).

Printed: set-up times and pool sizes; the timeline of the run: parts published; run start and "match.done"
(the run's own duration, logged after its COPYs, before the commit); when each of the run's three COPYs was
first seen running in the matcher's session (pg_stat_activity, polled with the commit), which splits the run
into the matcher's own work and the COPYs; commit — the matcher.run row (same transaction as the forms)
visible to a poll every 0.2 s, and the JetStream time of the first event, which the relay can only publish
after the commit: the earlier of the two is used; dispatched — the stream count reaching the number of rows
the run put in the outbox (matcher.outbox_id_seq: nothing else writes there), and the JetStream time of the
last event: the earlier is used. Then the baseline COPY (per table by psql's \\timing), the ratios, the CPU
seconds (/proc/<pid>/stat) of drip-matcher and of its PostgreSQL sessions until the commit and while relaying,
against those of psql and its session for the baseline, the matcher's peak RSS (VmHWM of /proc/<pid>/status)
before and after the run, and the load average: wall times move with whatever else runs on the machine, CPU
seconds much less.

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... python3 tests/bench/bench_match.py
    BENCH_TARGETS=10000 BENCH_INSPECTORS=3000 ...      a quick run
    BENCH_PERF=/tmp/match.perf ...                     also `perf record -g` the matcher from the first part
                                                       published to the last event dispatched
    BENCH_PERF_OPTS="-F 250 --call-graph dwarf,8192"   other perf record options (default -g)
"""
import calendar
import collections
import csv
import datetime
import hashlib
import json
import os
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
import jsutil  # noqa: E402
import pb_matcher as pm  # noqa: E402
import pb_sampler as ps  # noqa: E402
import test_matcher as TM  # noqa: E402
from drip_world import load_reference, summary  # noqa: E402
from test_sampler import make_uscc  # noqa: E402

TARGETS = int(os.environ.get("BENCH_TARGETS", "100000"))
INSPECTORS = int(os.environ.get("BENCH_INSPECTORS", "30000"))
TARGETS_VIA = os.environ.get("BENCH_TARGETS_VIA", "sql")
PERF = os.environ.get("BENCH_PERF", "")
PERF_OPTS = os.environ.get("BENCH_PERF_OPTS", "-g").split()
PART = 5000              # targets per DRAW_SETTLED part, as the sampler sends them
POLL = 0.2               # seconds between polls of the commit and of the stream
TIMEOUT = 1800

PLAN = "2026-130000-130000SCJ-1"
TASK = "联2026BM"
KEY = PLAN + "/" + TASK
WINDOW = ("2026-05-04", "2026-06-30")
OPS = dict(dept="OPS", region="000000")
DEPTS = [  # code, name, items: (code, name, required qualification tag, Item.experts)
    ("130000SCJ", "河北省市场监督管理局", [("SP01", "食品经营许可检查", "食品安全", 1),
                                          ("GG01", "广告发布合规检查", "食品安全", 0)]),
    ("130000SWJ", "国家税务总局河北省税务局", [("SW01", "发票使用检查", "税务稽查", 0)]),
    ("130000YJJ", "河北省应急管理厅", [("AQ01", "安全生产检查", "安全生产", 0)]),
]
LEAD = DEPTS[0][0]
OTHER_TAGS = ["食品安全", "特种设备", "计量", "广告监管", "价格监督", "税务稽查", "安全生产", "消防"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华文辉建国红玉兰峰志新海宇浩鹏晨欣怡佳雪琳婷颖晓俊斌凯波鑫"
TRADES = ["商贸", "食品", "餐饮", "科技", "建材", "机械", "化工", "物流", "农业", "医药", "服装", "电子"]


def say(fmt, *a):
    print(fmt % a if a else fmt, flush=True)


def psql_admin(s, sql, timeout=3600):
    return harness._psql(s._admin(s.db), sql, timeout=timeout)


def psql_file(s, script, timeout=3600):
    """Runs a psql script (backslash commands allowed) as the superuser; returns stdout."""
    r = subprocess.run([harness._pg_bin("psql"), "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", s._admin(s.db), "-f", "-"],
                       input=script, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise harness.HarnessError("psql failed:\n%s\n%s" % (script, r.stderr))
    return r.stdout


def vm(pid, field):
    """A field of /proc/<pid>/status in bytes (VmHWM, VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


TICK = os.sysconf("SC_CLK_TCK")


def stat_cpu(line):
    """user + system CPU seconds from a /proc/<pid>/stat line (all threads of the process)."""
    f = line.rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def cpu(pids):
    """{pid: CPU seconds} of the processes that still exist."""
    out = {}
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                out[pid] = stat_cpu(f.read())
        except (OSError, ValueError, IndexError):
            pass
    return out


def cpu_since(now, before):
    """CPU seconds spent between two cpu() snapshots (a process born in between counts from 0)."""
    return sum(v - before.get(pid, 0.0) for pid, v in now.items())


def matcher_backends(s):
    return [int(r[0]) for r in s.psql("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND usename = 'drip_matcher'")]


def js_time(ts):
    """JetStream's RFC 3339 time (nanoseconds) as a Unix timestamp."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", ts)
    base = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    off = 0
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        off = sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    return base + frac - off


def msg_time(nc, stream, seq):
    r = nc.js_api("STREAM.MSG.GET." + stream, {"seq": seq})
    if "error" in r:
        raise harness.HarnessError("stream %s seq %d: %s" % (stream, seq, r["error"]))
    return js_time(r["message"]["time"])


def log_ts(line):
    ts = json.loads(line)["ts"]
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def stream_dump(nc, stream, expected, batch=1000):
    """Every message of `stream` as (subject, Nats-Msg-Id, payload), in stream order, through an ephemeral pull
    consumer (ack none) — one request per `batch` messages instead of one per message."""
    r = nc.js_api("CONSUMER.CREATE." + stream, {"stream_name": stream, "config": {
        "deliver_policy": "all", "ack_policy": "none", "mem_storage": True, "num_replicas": 1,
        "inactive_threshold": 120 * jsutil.NS, "max_batch": batch}})
    if "error" in r:
        raise harness.HarnessError("consumer on %s: %s" % (stream, r["error"]))
    name = r["name"]
    inbox = "_INBOX.%s" % secrets.token_hex(8)
    if nc.subscribe(inbox) != "+OK":
        raise harness.HarnessError("subscribe %s" % inbox)
    sid = str(nc.sid)
    out = []
    nc.sock.settimeout(60)
    try:
        while len(out) < expected:
            req = json.dumps({"batch": batch, "no_wait": True}).encode()
            nc._send(("PUB $JS.API.CONSUMER.MSG.NEXT.%s.%s %s %d\r\n" % (stream, name, inbox, len(req))).encode()
                     + req + b"\r\n")
            got, before = 0, len(out)
            while got < batch:
                line = nc._line()
                if line == "PING":
                    nc._send("PONG\r\n")
                    continue
                if line.startswith("+OK"):
                    continue
                if line.startswith("-ERR"):
                    raise harness.HarnessError("NATS: %s" % line)
                p = line.split()
                if p[0] == "HMSG":
                    hlen, total = int(p[-2]), int(p[-1])
                    raw = nc.f.read(total + 2)[:total]
                    if p[2] != sid:
                        continue
                    hdr = raw[:hlen].decode("utf-8", "replace")
                    first = hdr.split("\r\n", 1)[0]
                    if len(first.split()) > 1:          # a status (404 no messages, 408 timeout): batch over
                        break
                    out.append((p[1], jsutil._headers(hdr).get("Nats-Msg-Id", ""), raw[hlen:]))
                    got += 1
                elif p[0] == "MSG":
                    nc.f.read(int(p[-1]) + 2)
            if len(out) == before:
                raise harness.HarnessError("stream %s: %d of %d messages read" % (stream, len(out), expected))
    finally:
        nc.sock.settimeout(nc.timeout)
        nc._send("UNSUB %s\r\n" % sid)
        nc._reply()
        nc.js_api("CONSUMER.DELETE.%s.%s" % (stream, name))
    return out


def copy_text(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


# ---- the world ---------------------------------------------------------------------------------------------

def districts(s):
    with open(s.source("data/regions-gbt2260.csv"), encoding="utf-8") as f:
        return sorted(r["code"] for r in csv.DictReader(f) if r["code"].startswith("13") and r["level"] == "county")


def company_name(rnd, i):
    return "河北%s%s%s有限公司%d" % (rnd.choice(SURNAMES), rnd.choice(GIVEN), rnd.choice(TRADES), i)


def targets_sql(s, rnd, regs):
    """TARGETS valid USCCs over the districts (log-normal weights) straight into matcher.target."""
    weights = [rnd.lognormvariate(0, 0.6) for _ in regs]
    rows, seen = [], set()
    for i, r in enumerate(rnd.choices(regs, weights, k=TARGETS)):
        u = make_uscc(rnd, r)
        while u in seen:
            u = make_uscc(rnd, r)
        seen.add(u)
        rows.append((u, company_name(rnd, i), r))
    path = s.path("targets.tsv")
    with open(path, "w", encoding="utf-8") as f:
        for u, n, r in rows:
            f.write("%s\t1\tf\t%s\t%s\n" % (u, copy_text(n), r))
    psql_file(s, "\\copy matcher.target (key, version, retired, name, region) FROM '%s'\n" % path)
    return [(u, r) for u, _, r in rows]


def targets_registry(s):
    """TARGETS enterprises generated over Hebei and imported through the bus as 130000SCJ."""
    f = s.path("enterprises.csv")
    s.dripctl("gen", "enterprises", "--count", TARGETS, "--seed", "1", "--regions", "130000", "-o", f)
    r = s.dripctl("registry", "import", "--kind", "enterprise", "--window", "4", f, dept=LEAD, region="130000",
                  timeout=3600)
    sm = summary(r.stdout)
    assert sm["rejected"] == 0, r.stdout
    harness.wait_for(lambda: int(s.psql("SELECT count(*) FROM matcher.target")[0][0]) >= sm["created"],
                     timeout=3600, interval=0.5, what="matcher.target caught up")
    return [(k, g) for k, g in psql_admin(s, "SELECT key, region FROM matcher.target WHERE NOT retired")]


def inspectors_csv(s, rnd, dept, tag, experts, n, regs, weights, by_region, pools):
    """Writes one department's inspectors; counts each district's eligible members into pools[(dept, region)]
    (tag held, certificate valid to the window's end, active, not an expert: the pool's tier-0 member lines)."""
    rows = []
    for i, r in enumerate(rnd.choices(regs, weights, k=n)):
        quals = {tag} if rnd.random() < 0.85 else set()
        quals |= set(rnd.sample([t for t in OTHER_TAGS if t != tag], rnd.choice((0, 1, 1, 2))))
        if rnd.random() < 0.05:
            expiry = "2026-%02d-%02d" % (rnd.randint(1, 5), rnd.randint(1, 28))     # before the window ends
        else:
            expiry = "%d-%02d-%02d" % (rnd.randint(2026, 2030), rnd.randint(7, 12), rnd.randint(1, 28))
        rec = rnd.choice(by_region[r]) if rnd.random() < 0.02 and by_region.get(r) else ""
        rows.append(dict(id="I%06d" % i, name=rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, rnd.choice((1, 2)))),
                         region=r, cert_no="%sC%06d" % (dept[:6], i), cert_expiry=expiry,
                         qualifications=";".join(sorted(quals)),
                         expert="true" if experts and rnd.random() < 0.08 else "",
                         team="", active="false" if rnd.random() < 0.03 else "", recusals=rec))
        x = rows[-1]
        if tag in quals and x["cert_expiry"] >= WINDOW[1] and not x["active"] and not x["expert"]:
            pools[(dept, r)] += 1
    path = s.path("inspectors-%s.csv" % dept)
    TM.write_csv(path, rows)
    return path


def setup(s, w):
    rnd = random.Random(2026)
    regs = districts(s)
    # a smaller run keeps the full run's pool sizes: fewer districts, as many targets and inspectors per district
    ndist = max(3, min(len(regs), round(len(regs) * TARGETS / 100000)))
    regs = sorted(random.Random(7).sample(regs, ndist))
    w.importf("department", [
        dict(code=c, region="130000", name=n, active="true", draws_teams="", parent_dept="", neighbour_depts="")
        for c, n, _ in DEPTS[1:]], OPS)
    for c, _, items in DEPTS:
        w.importf("item", [dict(code=code, name=name, level="general", legal_basis="", methods="on_site",
                                target_kind="enterprise", required_qualifications=tag,
                                experts=str(e) if e else "") for code, name, tag, e in items],
                  dict(dept=c, region="130000"))
    s.start("matcher")

    t0 = time.perf_counter()
    if TARGETS_VIA == "registry":
        targets = targets_registry(s)
        how = "imported through the registry (dripctl gen + registry import, projection caught up)"
    else:
        targets = targets_sql(s, rnd, regs)
        how = "written straight into matcher.target (COPY)"
    say("setup: %d targets %s in %.1f s", len(targets), how, time.perf_counter() - t0)

    by_region = collections.defaultdict(list)
    for u, r in targets:
        by_region[r].append(u)
    regs = sorted(by_region)                                       # the districts that have targets
    weights = [len(by_region[r]) for r in regs]                    # staff follows the workload
    per = [INSPECTORS // 3 + (1 if i < INSPECTORS % 3 else 0) for i in range(3)]
    pools = collections.Counter({(c, r): 0 for c, _, _ in DEPTS for r in regs})
    files = [inspectors_csv(s, rnd, c, items[0][2], any(e for *_, e in items), n, regs, weights, by_region, pools)
             for (c, _, items), n in zip(DEPTS, per)]
    sizes = sorted(pools.values())
    per_r = sorted(len(v) for v in by_region.values())
    say("setup: targets per district min/median/max %d/%d/%d; eligible members per pool (department, district) "
        "min/median/max %d/%d/%d", per_r[0], per_r[len(per_r) // 2], per_r[-1], sizes[0], sizes[len(sizes) // 2],
        sizes[-1])
    t0 = time.perf_counter()
    for (c, _, _), f in zip(DEPTS, files):
        r = s.dripctl("registry", "import", "--kind", "inspector", "--rejects", f + ".rej", f, dept=c,
                      region="130000", timeout=3600)
        assert summary(r.stdout)["rejected"] == 0, (r.stdout, open(f + ".rej").read())
    t_imp = time.perf_counter() - t0
    harness.wait_for(lambda: int(s.psql("SELECT count(*) FROM matcher.ref_record WHERE kind = 2")[0][0])
                     >= INSPECTORS, timeout=3600, interval=0.3, what="matcher's inspector projection")
    say("setup: %d inspectors imported with dripctl registry import (3 CSV files) in %.1f s; in the matcher's "
        "projection %.1f s after the start of the import", INSPECTORS, t_imp, time.perf_counter() - t0)

    items = {c: [code for code, *_ in it] for c, _, it in DEPTS}
    t = ps.task(TASK, LEAD, kind=ps.JOINT, cooperating_depts=[c for c, _, _ in DEPTS[1:]], items=items,
                ratio_ppm=10000, inspectors_per_check=2, window_start=WINDOW[0], window_end=WINDOW[1],
                result_workdays=5, plan_code=PLAN, commitment="00" * 32)
    mid = "planner:%s" % secrets.token_hex(8)
    with s.nats() as nc:
        jsutil.publish(nc, "%s.evt.planner.13.00.00.%s.task" % (s.prefix, LEAD),
                       ps.planner_event(ps.envelope(mid, LEAD, "130000"), ps.TASK_PUBLISHED, t), mid)
    harness.wait_for(lambda: s.psql("SELECT count(*) FROM matcher.task")[0][0] == "1", timeout=60,
                     what="task in the matcher")
    return [u for u, _ in targets], by_region


def outcome(s):
    """Unstaffed member slots, expert picks and the largest member load (form_member)."""
    depts = ",".join("'%s'" % c for c, _, _ in DEPTS)
    (unstaffed, experts, maxload), = psql_admin(s, """
        SELECT (SELECT count(*) FROM matcher.form f CROSS JOIN unnest(ARRAY[%s]) AS d(dept)
                  LEFT JOIN (SELECT uscc, dept, count(*) AS c FROM matcher.form_member WHERE role = 1
                             GROUP BY 1, 2) m ON m.uscc = f.uscc AND m.dept = d.dept
                 WHERE coalesce(m.c, 0) < 2),
               (SELECT count(*) FROM matcher.form_member WHERE role = 2),
               (SELECT max(c) FROM (SELECT count(*) AS c FROM matcher.form_member WHERE role = 1
                                    GROUP BY inspector) x)""" % depts)
    return int(unstaffed), int(experts), int(maxload)


def settle_parts(s, confirmed):
    seed = hashlib.sha256(b"bench-match").hexdigest()
    chunks = [confirmed[i:i + PART] for i in range(0, len(confirmed), PART)]
    out = []
    for i, ch in enumerate(chunks):
        mid = "sampler-%s-settled-%d" % (hashlib.sha256(TASK.encode()).hexdigest()[:16], i + 1)
        ev = pm.settled_event(ps.envelope(mid, LEAD, "130000"), TASK, PLAN, seed, [c for c, _, _ in DEPTS],
                              ch, part=i + 1, parts=len(chunks))
        out.append(("%s.evt.sampler.13.00.00.%s.settled" % (s.prefix, LEAD), ev, mid))
    return out


# ---- the measurement ---------------------------------------------------------------------------------------

# The commit poll: is the run row there (it commits with the forms), and which COPY is the matcher's session
# running (to split the run's time between its own work and the three COPYs).
POLL_SQL = """
SELECT (SELECT count(*) FROM matcher.run WHERE task_key = '%s'),
       (SELECT coalesce(string_agg(split_part(query, ' ', 2), ','), '') FROM pg_stat_activity
         WHERE datname = current_database() AND usename = 'drip_matcher' AND state = 'active'
           AND query LIKE 'COPY %%')
"""


def measure(s, w, parts):
    pid = s.procs["matcher"].pid
    hwm0 = vm(pid, "VmHWM")
    perf = None
    if PERF:
        perf = subprocess.Popen(["perf", "record"] + PERF_OPTS + ["-o", PERF, "-p", str(pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    load0 = open("/proc/loadavg").read().split()[0]
    backends = matcher_backends(s)
    cpu0 = (cpu([pid]), cpu(backends))
    nc = s.nats()
    try:
        t0 = time.time()
        for subj, ev, mid in parts:
            jsutil.publish(nc, subj, ev, mid, timeout=60)
        t_pub = time.time()
        deadline = t0 + TIMEOUT
        t_commit = None
        copies = {}          # table -> first time its COPY was seen running in the matcher's session
        while t_commit is None:
            (done, active), = s.psql(POLL_SQL % KEY)
            now = time.time()
            for table in filter(None, active.split(",")):
                copies.setdefault(table, now)
            if done == "1":
                t_commit = now
                backends = sorted(set(backends) | set(matcher_backends(s)))
                cpu1 = (cpu([pid]), cpu(backends))
                break
            if not s.running("matcher") or time.time() > deadline:
                raise harness.HarnessError("no commit; matcher log:\n%s"
                                           % "\n".join(s.log("matcher").splitlines()[-30:]))
            time.sleep(POLL)
        # every outbox row of the run came from this run's COPY: the sequence tells how many there are
        (events,), = s.psql("SELECT last_value FROM matcher.outbox_id_seq")
        events = int(events)
        t_disp = None
        while t_disp is None:
            n = jsutil.stream_state(nc, w.matcher_stream)["messages"]
            if n >= events:
                t_disp = time.time()
                backends = sorted(set(backends) | set(matcher_backends(s)))
                cpu2 = (cpu([pid]), cpu(backends))
                break
            if not s.running("matcher") or time.time() > deadline:
                raise harness.HarnessError("%d of %d events on the stream" % (n, events))
            time.sleep(POLL)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(120)
        hwm1 = vm(pid, "VmHWM")
        load1 = open("/proc/loadavg").read().split()[0]
        harness.wait_for(lambda: s.psql("SELECT count(*) FROM matcher.outbox")[0][0] == "0", timeout=60,
                         what="outbox empty")
        t_first = msg_time(nc, w.matcher_stream, 1)
        t_last = msg_time(nc, w.matcher_stream, events)
        t_part1 = msg_time(nc, w.sampler_stream, 1)
    finally:
        nc.close()
    done = [ln for ln in s.log("matcher").splitlines() if '"match.done"' in ln]
    assert len(done) == 1, done
    m = re.search(r"(\d+) forms, (\d+) departments, (\d+) pools; (\d+) ms", done[0])
    run_ms = int(m.group(4))
    t_done = log_ts(done[0])
    return dict(t0=t0, t_pub=t_pub, t_part1=t_part1, t_commit_poll=t_commit, t_first=t_first, t_disp_poll=t_disp,
                t_last=t_last, t_done=t_done, copies=copies, run_ms=run_ms, forms=int(m.group(1)),
                pools=int(m.group(3)),
                cpu_commit=(cpu_since(cpu1[0], cpu0[0]), cpu_since(cpu1[1], cpu0[1])),
                cpu_relay=(cpu_since(cpu2[0], cpu1[0]), cpu_since(cpu2[1], cpu1[1])),
                events=events, hwm0=hwm0, hwm1=hwm1, rss=vm(pid, "VmRSS"), load=(load0, load1))


def baseline(s, w, events):
    """The run's rows back in by COPY: form and form_member out of the matcher's tables (COPY TO), the outbox
    rows out of the stream (the relay deleted them) with their subjects, msg ids and payloads."""
    fpath, mpath, opath = s.path("form.copy"), s.path("form_member.copy"), s.path("outbox.copy")
    fcols = "task_key, uscc, seq, version, body"
    mcols = "task_key, uscc, dept, inspector, role, source"
    psql_file(s, "\\copy matcher.form (%s) TO '%s'\n\\copy matcher.form_member (%s) TO '%s'\n"
              % (fcols, fpath, mcols, mpath))
    t0 = time.perf_counter()
    with s.nats() as nc:
        msgs = stream_dump(nc, w.matcher_stream, events)
    assert len(msgs) == events, (len(msgs), events)
    with open(opath, "w", encoding="utf-8") as f:
        for subj, mid, data in msgs:
            f.write("%s\t%s\t\\\\x%s\n" % (copy_text(subj), copy_text(mid), data.hex()))
    payload_bytes = sum(len(d) for _, _, d in msgs)
    say("baseline: %d events read back from %s in %.1f s (%.1f MB of payloads)", events, w.matcher_stream,
        time.perf_counter() - t0, payload_bytes / 1e6)
    psql_admin(s, "CREATE SCHEMA bench;"
                  " CREATE TABLE bench.form (LIKE matcher.form INCLUDING ALL);"
                  " CREATE TABLE bench.form_member (LIKE matcher.form_member INCLUDING ALL);"
                  " CREATE TABLE bench.outbox (LIKE matcher.outbox INCLUDING ALL);"
                  " CHECKPOINT;")
    # the session's backend CPU is read before and after the COPYs (\\! cat /proc/<backend pid>/stat)
    script = ("SELECT pg_backend_pid() AS bpid \\gset\n\\setenv BPID :bpid\n\\! cat /proc/$BPID/stat\n"
              "\\timing on\nBEGIN;\n\\copy bench.form (%s) FROM '%s'\n\\copy bench.form_member (%s) FROM '%s'\n"
              "\\copy bench.outbox (subject, msg_id, payload) FROM '%s'\nCOMMIT;\n\\! cat /proc/$BPID/stat\n"
              % (fcols, fpath, mcols, mpath, opath))
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = psql_file(s, script)
    copy_s = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = [stat_cpu(ln) for ln in out.splitlines() if re.match(r"\d+ \(postgres\) ", ln)]
    backend_cpu = stats[-1] - stats[0] if len(stats) == 2 else float("nan")
    psql_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    ms = [float(x) for x in re.findall(r"Time: ([\d.]+) ms", out)]   # BEGIN, 3 x COPY, COMMIT
    counts = psql_admin(s, "SELECT (SELECT count(*) FROM bench.form), (SELECT count(*) FROM bench.form_member),"
                           " (SELECT count(*) FROM bench.outbox), (SELECT sum(length(body)) FROM bench.form),"
                           " (SELECT sum(length(payload)) FROM bench.outbox)")[0]
    mine = psql_admin(s, "SELECT (SELECT count(*) FROM matcher.form), (SELECT count(*) FROM matcher.form_member),"
                         " (SELECT sum(length(body)) FROM matcher.form)")[0]
    assert counts[0] == mine[0] and counts[1] == mine[1] and counts[3] == mine[2], (counts, mine)
    assert int(counts[2]) == events and int(counts[4]) == payload_bytes, (counts, events, payload_bytes)
    return dict(copy_s=copy_s, ms=ms, cpu=(psql_cpu, backend_cpu), forms=int(counts[0]), members=int(counts[1]), outbox=int(counts[2]),
                form_bytes=int(counts[3]), payload_bytes=payload_bytes)


def main():
    TM._ensure_role("matcher")
    with harness.Scratch(daemons=["registry", "matcher"]) as s:
        t_setup = time.perf_counter()
        s.start("registry")
        load_reference(s)
        w = TM.World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
            jsutil.ensure_stream(nc, w.sampler_stream, [s.prefix + ".evt.sampler.>"])
        confirmed, by_region = setup(s, w)
        parts = settle_parts(s, confirmed)
        psql_admin(s, "VACUUM ANALYZE matcher.target; VACUUM ANALYZE matcher.ref_record; CHECKPOINT;")
        say("setup: %.1f s in all; %d districts with targets, %d parts of DRAW_SETTLED (%.1f MB)",
            time.perf_counter() - t_setup, len(by_region), len(parts), sum(len(p[1]) for p in parts) / 1e6)

        r = measure(s, w, parts)
        assert r["forms"] == len(confirmed), (r["forms"], len(confirmed))
        b = baseline(s, w, r["events"])

        unstaffed, experts, maxload = outcome(s)

        t0 = r["t0"]
        commit_s = min(r["t_commit_poll"], r["t_first"]) - t0
        disp_s = min(r["t_disp_poll"], r["t_last"]) - t0
        copy_s = b["copy_s"]
        run_start = r["t_done"] - r["run_ms"] / 1000
        say("")
        say("match bench: %d confirmed targets x %d departments, %d inspectors, %d pools, inspectors_per_check 2, "
            "experts 1 (%s); targets %s", TARGETS, len(DEPTS), INSPECTORS, r["pools"], LEAD,
            "imported through the registry" if TARGETS_VIA == "registry" else "written into matcher.target")
        say("  output: %d forms (%.1f MB of bodies), %d form_member rows (%d experts), %d events (%.1f MB of "
            "payloads); %d unstaffed slots, largest member load %d forms", b["forms"], b["form_bytes"] / 1e6,
            b["members"], experts, b["outbox"], b["payload_bytes"] / 1e6, unstaffed, maxload)
        say("  machine: %d CPUs, load average %s before the run, %s after it (other work on the machine slows both"
            " the run and the baseline)", os.cpu_count(), *r["load"])
        say("  timeline, t = 0 when the first part is published:")
        line = "    %-70s %7.2f s"
        say(line, "%d parts published (each acked by JetStream)" % len(parts), r["t_pub"] - t0)
        say(line, "run started (match.done time - its duration)", run_start - t0)
        for table in ("form", "form_member", "outbox"):
            if table in r["copies"]:
                say(line, "COPY %s running in the matcher's session (first seen, poll)" % table,
                    r["copies"][table] - t0)
        say(line, "match.done logged (run %d ms; COPYs done, not committed yet)" % r["run_ms"], r["t_done"] - t0)
        say(line, "commit: matcher.run row visible to the poll (every %.1f s)" % POLL, r["t_commit_poll"] - t0)
        say(line, "commit: JetStream time of the first event (only after commit)", r["t_first"] - t0)
        say(line, "dispatched: stream count reached %d (poll)" % r["events"], r["t_disp_poll"] - t0)
        say(line, "dispatched: JetStream time of the last event", r["t_last"] - t0)
        say("  baseline, raw COPY FROM of the same rows into fresh tables (same columns and indexes), one transaction:"
            " %.2f s%s", copy_s, ("\n    (psql \\timing: form %.2f s, form_member %.2f s, outbox %.2f s, commit %.2f s)"
                                 % tuple(x / 1000 for x in b["ms"][1:5])) if len(b["ms"]) == 5 else "")
        say("  commit     %7.2f s = %5.2fx COPY   (goal <= 3x)", commit_s, commit_s / copy_s)
        say("  dispatched %7.2f s = %5.2fx COPY   (goal <= 3x); relaying after the commit %.2f s (%.0f events/s)",
            disp_s, disp_s / copy_s, disp_s - commit_s, r["events"] / max(disp_s - commit_s, 1e-9))
        say("  the run's own duration (match.done): %.2f s = %.2fx COPY", r["run_ms"] / 1000,
            r["run_ms"] / 1000 / copy_s)
        (mc, bc), (mr, br), (pc, pb) = r["cpu_commit"], r["cpu_relay"], b["cpu"]
        say("  CPU seconds (user + system: time spent waiting for a CPU on a busy machine does not count):")
        say("    until commit: drip-matcher %.1f + its PostgreSQL sessions %.1f = %.1f = %.2fx the baseline's"
            " (psql %.1f + its session %.1f = %.1f)", mc, bc, mc + bc, (mc + bc) / (pc + pb), pc, pb, pc + pb)
        say("    relaying after the commit: drip-matcher %.1f + its PostgreSQL sessions %.1f", mr, br)
        say("  drip-matcher peak RSS (VmHWM): %.1f MiB after the run (%.1f MiB before it; VmRSS now %.1f MiB)",
            r["hwm1"] / 2**20, r["hwm0"] / 2**20, r["rss"] / 2**20)
        if PERF:
            say("  perf data: %s (perf report -i %s --no-children)", PERF, PERF)
        say("RESULT %d targets x %d departments, %d inspectors: commit %.2f s = %.2fx COPY, dispatched %.2f s = "
            "%.2fx COPY (goal <= 3x), COPY %.2f s, run %.2f s, peak RSS %.1f MiB", TARGETS, len(DEPTS), INSPECTORS,
            commit_s, commit_s / copy_s, disp_s, disp_s / copy_s, copy_s, r["run_ms"] / 1000, r["hwm1"] / 2**20)


if __name__ == "__main__":
    main()
