#!/usr/bin/env python3
"""drip-match-v1, an independent reference written from docs/match.md (stdlib only).

    match(seed, task, depts, pool_lines, forms) -> dict
      depts      [{"dept": D, "required": k_D, "experts": e_D, "teams": bool}, ...]
      pool_lines the published pool lines (bytes), "<D>,<R>,<tier>,<DEPT/ID>,<E|->,<team>\\n"
      forms      [{"uscc": U, "region": R, "exclusions": [(D, "DEPT/ID", reason), ...]}, ...]
    build_pool_lines(depts, inspectors, regions) -> bytes   (pools from a simple inspector list)

`python3 match_reference.py` prints the scenario that tests/unit/test_match.c pastes as its
cross-check (the readable picks, the transcript and its SHA-256); rerun it to regenerate them.
"""
import hashlib

MEMBER, EXPERT = 1, 2


def sha(*parts):
    return hashlib.sha256(":".join(parts).encode("utf-8")).digest()


def chain(region):  # PPCCDD -> PPCC00 -> PP0000 (the offices that cover a region)
    out = [region, region[:4] + "00", region[:2] + "0000"]
    return [r for i, r in enumerate(out) if r not in out[:i]]


def build_pool_lines(depts, inspectors, regions):
    """depts: {D: {"parent": P or None, "neighbours": [N, ...]}} for the participating D;
    inspectors: (key "DEPT/ID", office region, expert, team) of the eligible inspectors only."""
    lines = []
    for d, info in depts.items():
        for r in regions:
            tiers = [(d, True), (info.get("parent"), True)] + [(n, False) for n in info.get("neighbours", [])]
            for tier, (src, local) in enumerate(tiers):
                for key, office, expert, team in inspectors:
                    if src and key.split("/")[0] == src and (not local or office in chain(r)):
                        lines.append(f"{d},{r},{tier},{key},{'E' if expert else '-'},{team}\n")
    return b"".join(sorted(line.encode("utf-8") for line in lines))


def match(seed, task, depts, pool_lines, forms):
    pools = {}  # (D, R) -> [(tier, key, expert, team)]
    for line in pool_lines.decode("utf-8").splitlines():
        d, r, tier, key, e, team = line.split(",")
        pools.setdefault((d, r), []).append((int(tier), key, e == "E", team))
    depts = sorted(depts, key=lambda x: x["dept"].encode("utf-8"))
    n_region = {}
    for f in forms:
        n_region[f["region"]] = n_region.get(f["region"], 0) + 1

    def team_key(key, team):
        return key.split("/")[0] + "/#" + team

    caps, by_code = {}, {x["dept"]: x for x in depts}
    for (d, r), lines in pools.items():
        dd = by_code[d]
        if dd["teams"]:  # units: distinct teams
            size = {}
            for t, k, e, tm in lines:
                if not e and tm:
                    size[(t, team_key(k, tm))] = size.get((t, team_key(k, tm)), 0) + 1
            big = {(t, tk) for (t, tk), n in size.items() if n >= dd["required"]}  # can field k members
            tier0 = {tk for t, tk in big if t == 0}
            every = big  # a team counts once per tier it appears in
        else:
            tier0 = [k for t, k, e, _ in lines if not e and t == 0]
            every = [k for t, k, e, _ in lines if not e]
        experts = [t for t, _, e, _ in lines if e]
        big_l = len(tier0) or len(every) or 1
        big_le = sum(1 for t in experts if t == 0) or len(experts) or 1
        k = 1 if dd["teams"] else dd["required"]
        n = n_region.get(r, 0)
        caps[(d, r)] = (-(-n * k // big_l), -(-n * dd["experts"] // big_le) if dd["experts"] else 0)

    load = {}   # task-wide: forms a unit is on (ranks candidates)
    drawn = {}  # per pool line (D, R, tier, unit): times drawn from that pool (checked against the cap)
    out = []
    ordered = sorted(forms, key=lambda f: sha(seed, task, f["uscc"]))
    for seq, f in enumerate(ordered, 1):
        uscc, on_form, slots = f["uscc"], set(), {}
        for dd in depts:
            d, pool = dd["dept"], pools.get((dd["dept"], f["region"]), [])
            cap, expert_cap = caps.get((d, f["region"]), (0, 0))
            excluded = {k for x, k, _ in f.get("exclusions", []) if x == d}
            tiers = sorted({t for t, _, _, _ in pool})
            picks, units = [], []  # units: what this slot adds to the loads

            def rank(unit):
                return sha(seed, task, uscc, d, unit)

            def individuals(expert, need, cap):
                for tier in tiers:
                    if need == 0:
                        break
                    cands = sorted((load.get(k, 0), rank(k), k, tm) for t, k, e, tm in pool
                                   if t == tier and e == expert and k not in excluded
                                   and k not in on_form and drawn.get((d, f["region"], t, k), 0) < cap)
                    for ld, tk, k, tm in cands[:need]:
                        picks.append((k, EXPERT if expert else MEMBER, tier, ld, tk.hex(), tm))
                        on_form.add(k)
                        units.append(k)
                        drawn[(d, f["region"], tier, k)] = drawn.get((d, f["region"], tier, k), 0) + 1
                    need -= len(cands[:need])
                return need

            if dd["teams"]:
                short_by = dd["required"]
                for tier in tiers:
                    teams = {}
                    for t, k, e, tm in pool:
                        if t == tier and not e and tm:
                            teams.setdefault(team_key(k, tm), []).append(k)
                    usable = sorted((load.get(tk, 0), rank(tk), tk, sorted(ms)) for tk, ms in teams.items()
                                    if drawn.get((d, f["region"], tier, tk), 0) < cap and
                                    len([m for m in ms if m not in excluded and m not in on_form]) >= dd["required"])
                    if usable:
                        ld, tt, tk, ms = usable[0]
                        for k in ms:
                            if k not in excluded and k not in on_form:
                                picks.append((k, MEMBER, tier, ld, tt.hex(), tk.split("/#", 1)[1]))
                                on_form.add(k)
                                units.append(k)
                        units.append(tk)
                        drawn[(d, f["region"], tier, tk)] = drawn.get((d, f["region"], tier, tk), 0) + 1
                        short_by = 0
                        break
            else:
                short_by = individuals(False, dd["required"], cap)
            experts_short = dd["experts"] > 0 and individuals(True, dd["experts"], expert_cap) > 0
            for u in units:  # load is updated after each department's slot
                load[u] = load.get(u, 0) + 1
            slots[d] = dict(picks=picks, short_by=short_by, experts_short=experts_short)
        out.append(dict(seq=seq, uscc=uscc, ticket=sha(seed, task, uscc).hex(), slots=slots))
    return dict(pool_digest=hashlib.sha256(pool_lines).hexdigest(), caps=caps, forms=out, loads=load)


def transcript(result):
    """The canonical text test_match.c rebuilds from match.c's results and compares."""
    s = ""
    for f in result["forms"]:
        s += f"{f['seq']} {f['uscc']} {f['ticket']}\n"
        for d, slot in f["slots"].items():
            s += f" {d} short={slot['short_by']} eshort={int(slot['experts_short'])}\n"
            for k, role, tier, ld, tk, tm in slot["picks"]:
                s += f"  {role} {k} {tier} {ld} {tk} {tm}\n"
    return s


# ---- the cross-check scenario of tests/unit/test_match.c ----------------------------------------
SEED = hashlib.sha256(b"drip-match-v1 test").hexdigest()
TASK = "联202301"
S, T = "130100SCJ", "130100TJJ"  # participants; parent 130000SCJ; S's neighbour 130100ZJJ
DEPTS = [{"dept": S, "required": 2, "experts": 1, "teams": False},
         {"dept": T, "required": 1, "experts": 1, "teams": False}]
STRUCTURE = {S: {"parent": "130000SCJ", "neighbours": ["130100ZJJ"]}, T: {"parent": "130000SCJ"}}
INSPECTORS = [  # key, office, expert, team
    ("130100SCJ/a1", "130102", False, ""), ("130100SCJ/a2", "130102", False, ""),
    ("130100SCJ/a3", "130102", False, ""), ("130100SCJ/b1", "130104", False, ""),
    ("130100SCJ/c1", "130100", False, ""), ("130100SCJ/x1", "130100", True, ""),
    ("130000SCJ/p1", "130000", False, ""), ("130000SCJ/px", "130000", True, ""),
    ("130100ZJJ/n1", "130105", False, ""), ("130100ZJJ/n2", "130102", False, ""),
    ("130100TJJ/t1", "130100", False, ""), ("130100TJJ/t2", "130104", False, ""),
]
REGIONS = ["130102", "130104"]
FORMS = [{"uscc": "TGT%02d" % i, "region": REGIONS[i % 3 == 0], "exclusions": []} for i in range(1, 13)]
FORMS[2]["exclusions"] = [(S, "130100SCJ/b1", 1)]  # TGT03: b1 recused (RECUSED = 1)


def scenario():
    return match(SEED, TASK, DEPTS, build_pool_lines(STRUCTURE, INSPECTORS, REGIONS), FORMS)


if __name__ == "__main__":
    r = scenario()
    print("seed", SEED, "\npool_digest", r["pool_digest"])
    for (d, reg), (cap, ecap) in sorted(r["caps"].items()):
        print("cap", d, reg, cap, ecap)
    for f in r["forms"]:
        print(f["seq"], f["uscc"], " | ".join(
            f"{d}: " + ",".join(("E:" if p[1] == EXPERT else "") + p[0] for p in s["picks"])
            + (f" short={s['short_by']}" if s["short_by"] else "") + (" eshort" if s["experts_short"] else "")
            for d, s in f["slots"].items()))
    t = transcript(r)
    print("transcript_sha256", hashlib.sha256(t.encode("utf-8")).hexdigest())
    print(t, end="")
