#!/usr/bin/env bash
# deploy/demo.sh — one realistic registry cycle through dripctl, on the stack `deploy/dev up` started.
# Run it through `deploy/dev demo` (setup + build + up + this), or by hand after `deploy/dev up`.
#
# The story: 石家庄市长安区市场监督管理局 (department 130102SCJ) pushes its directories — 20 000 market
# entities (3 % deliberately broken), 200 inspectors, 15 inspection items — then queries them the way a
# task's scope filter will (seed 001: established domestic enterprises with 5–10 million yuan capital).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

if [[ -z "${DRIP_NATS_PASSWORD:-}" || -z "${DRIP_BUILD_DIR:-}" ]]; then
    [[ -r .drip/env ]] || { echo "demo: .drip/env missing — run deploy/dev demo (or deploy/dev up first)" >&2; exit 1; }
    set -a
    # shellcheck disable=SC1091
    . .drip/env
    set +a
fi

CTL="$DRIP_BUILD_DIR/tools/dripctl/dripctl"
[[ -x "$CTL" ]] || { echo "demo: $CTL not built — run deploy/dev build" >&2; exit 1; }
DEMO=.drip/demo
mkdir -p "$DEMO"
DEPT=130102SCJ
REGION=130102

if [[ -t 1 ]]; then B=$'\033[1m'; D=$'\033[2m'; R=$'\033[0m'; else B=""; D=""; R=""; fi
section() { printf '\n%s━━ %s ━━%s\n' "$B" "$*" "$R"; }
note()    { printf '%s%s%s\n' "$D" "$*" "$R"; }
fail()    { printf 'demo: %s (daemon logs: deploy/dev logs registry)\n' "$*" >&2; exit 1; }

# dripctl as the operator's admin identity (local commands, queries)
ctl() {
    printf '%s$ dripctl %s%s\n' "$D" "$*" "$R"
    "$CTL" "$@"
}

# dripctl with a department's own NATS credentials and identity
as_dept() {
    local code="$1" region="$2" pwvar
    shift 2
    pwvar="DRIP_PW_$code"
    [[ -n "${!pwvar:-}" ]] || fail "no credentials for department $code in .drip/env"
    printf '%s$ [as %s, region %s] dripctl %s%s\n' "$D" "$code" "$region" "$*" "$R" >&2
    DRIP_NATS_USER="$code" DRIP_NATS_PASSWORD="${!pwvar}" DRIP_DEPT="$code" DRIP_REGION="$region" "$CTL" "$@"
}

# ------------------------------------------------------------------------------------------------------------
section "1. Generate 20 000 market entities in 河北省 (130000), 3 % with deliberate defects"
ctl gen enterprises --count 20000 --seed 7 --regions 130000 --bad-ratio 0.03 -o "$DEMO/enterprises.csv"
note "$(wc -l <"$DEMO/enterprises.csv") lines written to $DEMO/enterprises.csv; first records:"
head -n 4 "$DEMO/enterprises.csv"

# ------------------------------------------------------------------------------------------------------------
section "2. 石家庄市长安区市场监督管理局 ($DEPT) imports its target directory"
rm -f "$DEMO/rejects.csv"
SECONDS=0
rc=0
as_dept "$DEPT" "$REGION" registry import --kind enterprise --rejects "$DEMO/rejects.csv" "$DEMO/enterprises.csv" || rc=$?
if ((rc != 0)); then
    [[ -s "$DEMO/rejects.csv" ]] || fail "import failed (exit $rc)"
    note "(dripctl exit $rc: some records were rejected, as intended)"
fi
note "import took ${SECONDS}s"

# ------------------------------------------------------------------------------------------------------------
section "3. What was rejected, and why (line number and reason)"
if [[ -s "$DEMO/rejects.csv" ]]; then
    note "$(($(wc -l <"$DEMO/rejects.csv") - 1)) rejected records in $DEMO/rejects.csv; the first ones:"
    head -n 11 "$DEMO/rejects.csv"
else
    note "no rejects file written"
fi

# ------------------------------------------------------------------------------------------------------------
section "4. Re-import the same file: nothing changes"
rc=0
as_dept "$DEPT" "$REGION" registry import --kind enterprise --rejects "$DEMO/rejects-again.csv" "$DEMO/enterprises.csv" || rc=$?
((rc == 0)) || [[ -s "$DEMO/rejects-again.csv" ]] || fail "re-import failed (exit $rc)"
note "(every accepted record is reported unchanged; no new version, no new event)"

# ------------------------------------------------------------------------------------------------------------
section "5. Inspector directory (200 inspectors) and the department's inspection items (15)"
ctl gen inspectors --count 200 --dept "$DEPT" --region "$REGION" -o "$DEMO/inspectors.csv"
head -n 3 "$DEMO/inspectors.csv"
as_dept "$DEPT" "$REGION" registry import --kind inspector "$DEMO/inspectors.csv"
ctl gen items --dept "$DEPT" --count 15 -o "$DEMO/items.csv"
head -n 3 "$DEMO/items.csv"
as_dept "$DEPT" "$REGION" registry import --kind item "$DEMO/items.csv"

# ------------------------------------------------------------------------------------------------------------
section "6. One accepted enterprise of its own district, as the registry holds it"
USCC=$(python3 - "$DEMO/enterprises.csv" "$DEMO/rejects.csv" "$REGION" <<'EOF'
import csv, sys
with open(sys.argv[2], encoding="utf-8") as f:
    rejected = {int(r["line"]) for r in csv.DictReader(f)}
with open(sys.argv[1], encoding="utf-8-sig") as f:
    for n, row in enumerate(csv.DictReader(f), start=2):
        if n not in rejected and row["region"] == sys.argv[3]:
            print(row["uscc"])
            sys.exit(0)
sys.exit(1)
EOF
) || fail "could not find an accepted USCC of region $REGION in $DEMO/enterprises.csv"
as_dept "$DEPT" "$REGION" registry show "$USCC"

# ------------------------------------------------------------------------------------------------------------
section "7. Counting a task's population (scope filters)"
note "the provincial operator: 石家庄市 (130100 and below), status 存续/在业, credit-risk classes C and D:"
ctl registry count --kind target --region 130100 --status 存续,在业 --credit C,D
note "seed 001's scope: established before 2022-12-31, registered capital 5–10 million yuan, domestic:"
ctl registry count --kind target --region 130100 --status 存续,在业 \
    --established-before 2022-12-31 --capital-min 5000000 --capital-max 10000000 --ownership domestic
note "a district department sees its own district only (the same filter, as $DEPT):"
as_dept "$DEPT" "$REGION" registry count --kind target --region 130100 --status 存续,在业 --credit C,D

# ------------------------------------------------------------------------------------------------------------
section "8. Departments known to the registry (bootstrapped from deploy/departments.csv by deploy/dev up)"
ctl registry list --kind department

# ------------------------------------------------------------------------------------------------------------
section "9. Events on JetStream and the daemons' metrics"
curl -fsS "$DRIP_NATS_MON_URL/jsz?streams=true&config=true" | python3 -c '
import json, sys
j = json.load(sys.stdin)
found = False
for acc in j.get("account_details") or []:
    for s in acc.get("stream_detail") or []:
        st = s.get("state", {})
        print("stream %-24s messages %-8s bytes %-12s subjects %s" % (s.get("name"), st.get("messages"),
              st.get("bytes"), ",".join((s.get("config") or {}).get("subjects") or [])))
        found = True
if not found:
    print("(no streams)")
' || note "(monitoring endpoint $DRIP_NATS_MON_URL/jsz not reachable)"
for name in ${DRIP_DAEMONS:-registry}; do
    portvar="DRIP_HTTP_PORT_$name"
    port="${!portvar:-}"
    [[ -n "$port" ]] || continue
    note "$name — http://127.0.0.1:$port/metrics (drip_* series):"
    curl -fsS "http://127.0.0.1:$port/metrics" | grep '^drip_' | head -n 40 || note "(no drip_ metrics)"
done

# ------------------------------------------------------------------------------------------------------------
section "10. A department cannot act for another one"
note "$DEPT, with its own credentials, tries to count as 清河县市场监督管理局 (130534SCJ):"
pwvar="DRIP_PW_$DEPT"
printf '%s$ [user %s, claiming 130534SCJ / 130534] dripctl registry count --kind target%s\n' "$D" "$DEPT" "$R"
rc=0
out=$(DRIP_NATS_USER="$DEPT" DRIP_NATS_PASSWORD="${!pwvar}" DRIP_DEPT=130534SCJ DRIP_REGION=130534 \
      "$CTL" registry count --kind target 2>&1) || rc=$?
printf '%s\n' "$out"
if ((rc != 0)); then
    note "refused (exit $rc), as it must be: NATS lets $DEPT publish only on drip.reg.*.13.01.02.$DEPT.>"
else
    printf 'demo: WARNING — the impersonation attempt was NOT refused\n' >&2
    exit 1
fi

# ------------------------------------------------------------------------------------------------------------
section "11. The other departments of the joint plan push their items and inspectors"
seed=11
for dr in 130102YJJ:130102 130102SWJ:130102 130102RSJ:130102 130100SCJ:130100; do
    d=${dr%:*}; r=${dr#*:}; seed=$((seed + 1))
    "$CTL" gen items --dept "$d" --count 3 -o "$DEMO/items-$d.csv" 2>/dev/null
    as_dept "$d" "$r" registry import --kind item "$DEMO/items-$d.csv"
    "$CTL" gen inspectors --count 40 --dept "$d" --region "$r" --seed "$seed" -o "$DEMO/inspectors-$d.csv" 2>/dev/null
    as_dept "$d" "$r" registry import --kind inspector "$DEMO/inspectors-$d.csv"
done

# ------------------------------------------------------------------------------------------------------------
section "12. The annual joint plan of seed 000, published with a draw commitment per task"
out=$(as_dept "$DEPT" "$REGION" plan load examples/plans/seed000-shijiazhuang-zongbao-2023.json --publish 2>&1) \
    || { printf '%s\n' "$out"; fail "plan load failed"; }
printf '%s\n' "$out" | grep -v '^  note:'
PLAN=$(printf '%s\n' "$out" | sed -n 's/^published plan \([^ ]*\).*/\1/p' | head -n 1)
[[ -n "$PLAN" ]] || fail "no plan code in the output of plan load"

# ------------------------------------------------------------------------------------------------------------
section "13. The target draw of 联202301 (drip-draw-v1), with public entropy announced after the order"
as_dept "$DEPT" "$REGION" task draw "$PLAN" 联202301 --entropy "福彩3D 第2026315期 开奖号码 4 7 1" \
    --entropy-source "中国福利彩票 福彩3D 开奖公告" --wait 120

# ------------------------------------------------------------------------------------------------------------
section "14. Anyone can check it: the frozen population and an independent recomputation"
as_dept "$DEPT" "$REGION" draw population 联202301 --plan "$PLAN" -o "$DEMO/population-联202301.txt"
note "$(wc -l <"$DEMO/population-联202301.txt") lines, e.g.: $(head -n 2 "$DEMO/population-联202301.txt" | tr '\n' ' ')"
as_dept "$DEPT" "$REGION" draw verify 联202301 --plan "$PLAN" --population "$DEMO/population-联202301.txt"

# ------------------------------------------------------------------------------------------------------------
section "15. 比对和确认: every department confirms; one target is rejected and replaced from its stratum"
as_dept "$DEPT" "$REGION" draw show 联202301 --plan "$PLAN" --json >"$DEMO/draw-联202301.json"
mapfile -t DRAWN < <(python3 -c '
import json, sys
rec = json.load(open(sys.argv[1]))
rec = rec.get("record", rec)
for t in rec["selected"]:
    print(t["uscc"])' "$DEMO/draw-联202301.json")
((${#DRAWN[@]} > 0)) || fail "no drawn targets"
as_dept "$DEPT" "$REGION" confirm "$PLAN/联202301" --reject "${DRAWN[0]}" --reason "该企业已于本年度内接受同类检查（演示）"
rest=$(IFS=,; echo "${DRAWN[*]:1}")
[[ -n "$rest" ]] && as_dept "$DEPT" "$REGION" confirm "$PLAN/联202301" --accept "$rest"
for dr in 130102YJJ:130102 130102SWJ:130102 130102RSJ:130102 130100SCJ:130100; do
    as_dept "${dr%:*}" "${dr#*:}" confirm "$PLAN/联202301" --accept "$rest"
done
as_dept "$DEPT" "$REGION" draw show 联202301 --plan "$PLAN" | sed -n '/^selected/,/^decisions/p' | grep -v '^decisions'
note "the replacement is pending until the five departments confirm it; the deadline is counted in working days"

# ------------------------------------------------------------------------------------------------------------
section "16. The replacement is confirmed too: the draw is settled and the matcher draws the inspectors"
as_dept "$DEPT" "$REGION" draw show 联202301 --plan "$PLAN" --json >"$DEMO/draw-联202301.json"
REPL=$(python3 -c '
import json, sys
rec = json.load(open(sys.argv[1]))
rec = rec.get("record", rec)
print(",".join(r["replacement_uscc"] for r in rec.get("replacements", []) if r.get("replacement_uscc")))' \
    "$DEMO/draw-联202301.json")
if [[ -n "$REPL" ]]; then
    for dr in "$DEPT:$REGION" 130102YJJ:130102 130102SWJ:130102 130102RSJ:130102 130100SCJ:130100; do
        as_dept "${dr%:*}" "${dr#*:}" confirm "$PLAN/联202301" --accept "$REPL" >/dev/null
    done
    note "replacement $REPL accepted by the five departments"
fi
for _ in $(seq 1 120); do
    as_dept "$DEPT" "$REGION" match report 联202301 --plan "$PLAN" >/dev/null 2>&1 && break
    sleep 1
done

# ------------------------------------------------------------------------------------------------------------
section "17. 一企一表: one joint form per enterprise, inspectors drawn per department (first two forms)"
as_dept "$DEPT" "$REGION" match show 联202301 --plan "$PLAN" >"$DEMO/match-联202301.txt" ||
    fail "match show failed"
awk '/^form 3 /{exit} {print}' "$DEMO/match-联202301.txt" | head -n 80

# ------------------------------------------------------------------------------------------------------------
section "18. Fairness report: pools, exclusions, loads, fallbacks, unstaffed slots, pair repetition"
as_dept "$DEPT" "$REGION" match report 联202301 --plan "$PLAN"

# ------------------------------------------------------------------------------------------------------------
section "19. Anyone can check the matching: pool digest, seed, forms, every slot recomputed (drip-match-v1)"
as_dept "$DEPT" "$REGION" match verify 联202301 --plan "$PLAN"
note "the planner moved the task on when the matcher reported the run:"
as_dept "$DEPT" "$REGION" plan show "$PLAN" 2>/dev/null | grep -E 'CODE|联202301'

section "Done"
note "The stack is still running: deploy/dev status · deploy/dev logs registry · deploy/dev down"
