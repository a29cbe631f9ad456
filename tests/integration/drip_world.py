"""drip_world.py — shared set-up for registry integration tests: a Scratch world with the registry
running and the reference data (regions, calendar, departments) loaded the way `deploy/dev up`
loads it, plus an independent Python re-implementation of the validation rules (MISSION §8) used
to check the daemon's verdicts."""
import csv
import datetime
import re

import harness

DEPT_A = dict(dept="130102SCJ", region="130102")
DEPT_B = dict(dept="130534SCJ", region="130534")

USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_valid(s):
    if len(s) != 18 or any(c not in USCC_ALPHA for c in s):
        return False
    total = sum(USCC_ALPHA.index(c) * w for c, w in zip(s[:17], USCC_WEIGHTS))
    c = 31 - total % 31
    return USCC_ALPHA[0 if c == 31 else c] == s[17]


def date_valid(s):
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s or ""):
        return False
    try:
        d = datetime.date.fromisoformat(s)
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= d <= datetime.date.today() + datetime.timedelta(days=1)


def region_codes(source):
    with open(source("data/regions-gbt2260.csv"), encoding="utf-8") as f:
        return {r["code"] for r in csv.DictReader(f)}


STATUSES = {"存续", "在业", "吊销", "注销", "迁出", "撤销", "停业", "清算"}
KINDS = {"enterprise", "individual", "cooperative", "企业", "个体工商户", "农民专业合作社"}


def enterprise_row_valid(row, regions):
    """Independent verdict on one enterprise CSV row (dict)."""
    if not uscc_valid(row["uscc"]):
        return False, "bad_uscc"
    if not row["name"].strip():
        return False, "missing_field"
    if row["kind"] not in KINDS:
        return False, "bad_enum"
    if row["region"] not in regions:
        return False, "bad_region"
    if row["registered_capital"] and not re.fullmatch(r"\d+", row["registered_capital"]):
        return False, "bad_value"
    if row["established"] and not date_valid(row["established"]):
        return False, "bad_date"
    if row["status"] not in STATUSES:
        return False, "bad_enum"
    if row["credit_class"] not in ("", "A", "B", "C", "D"):
        return False, "bad_enum"
    return True, None


def summary(stdout):
    """The `import ...: rows=N created=N ...` line of dripctl as a dict of ints."""
    for line in stdout.splitlines():
        if line.startswith("import "):
            return {k: float(v) if "." in v else int(v)
                    for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}
    raise AssertionError("no summary line in:\n" + stdout)


def load_reference(s):
    for kind, path in (("region", "data/regions-gbt2260.csv"), ("calendar", "data/cn-holidays.csv"),
                       ("department", "deploy/departments.csv")):
        r = s.dripctl("registry", "import", "--kind", kind, s.source(path))
        sm = summary(r.stdout)
        assert sm["rejected"] == 0, (kind, r.stdout, r.stderr)


def world():
    s = harness.Scratch()
    try:
        s.start("registry")
        load_reference(s)
    except BaseException:
        s.close(raise_errors=False)
        raise
    return s


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def event_changes(s, kind="target"):
    """Every change of `kind` in the registry stream of world s: list of (key, version, retired, msg_id)."""
    import json
    r = s.dripctl("events", "dump", "--service", "registry")
    out = []
    for line in r.stdout.splitlines():
        ev = json.loads(line)
        if ev.get("kind") != kind:
            continue
        for ch in ev.get("changes", []):
            out.append((ch["key"], int(ch["version"]), bool(ch.get("retired")), ev.get("msg_id")))
    return out
