#!/usr/bin/env python3
"""drip-draw-v1, an independent reference written from MISSION.md section 6 (stdlib only).

    python3 draw_reference.py POPULATION --nonce HEX --task CODE [--entropy E]
                              (--ratios A=100000,B=50000,-=0 | --count K) [--spares N]

POPULATION holds the frozen lines `uscc,stratum\\n`, sorted by byte order. Prints the draw as JSON.
As a module: draw(nonce_hex, entropy, task_code, population_bytes, ratios_ppm={'A': ...} or count=K).
"""
import argparse, hashlib, json, sys

STRATA = "ABCD-"  # reporting order; ties of the largest remainder go by code byte order: - A B C D


def sha_hex(data):
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def hamilton(sizes, k):
    total = sum(sizes.values())
    k = min(k, total)
    q = {s: (k * sizes[s] // total if total else 0) for s in STRATA}
    by_remainder = sorted(STRATA, key=lambda s: (-(k * sizes[s] % total if total else 0), s))
    for s in by_remainder[:k - sum(q.values())]:
        q[s] += 1
    return q


def draw(nonce_hex, entropy, task_code, population, ratios_ppm=None, count=None, spares=0):
    lines = population.split(b"\n")
    if lines.pop() != b"" or any(a >= b for a, b in zip(lines, lines[1:])):
        raise ValueError("population: lines must end in \\n and be strictly increasing in byte order")
    members = [tuple(line.decode("utf-8").rsplit(",", 1)) for line in lines]
    digest = sha_hex(population)
    seed = sha_hex("drip-draw-v1|" + nonce_hex + "|" + digest + "|" + entropy)
    sizes = {s: sum(1 for _, m in members if m == s) for s in STRATA}
    if count is None:
        quotas = {s: min(sizes[s], -(-sizes[s] * ratios_ppm.get(s, 0) // 1000000)) for s in STRATA}
    else:
        quotas = hamilton(sizes, count)
    ranked = {s: sorted((hashlib.sha256((seed + ":" + task_code + ":" + u).encode("utf-8")).digest(), u)
                        for u, m in members if m == s) for s in STRATA}
    return dict(
        commitment=sha_hex(bytes.fromhex(nonce_hex)), population_digest=digest, entropy=entropy,
        seed=seed, sizes=sizes, quotas=quotas,
        thresholds={s: ranked[s][quotas[s] - 1][0].hex() if quotas[s] else None for s in STRATA},
        selected=[(u, s, t.hex()) for s in STRATA for t, u in ranked[s][:quotas[s]]],
        replacement_order=[(u, s, t.hex()) for s in STRATA
                           for t, u in ranked[s][quotas[s]:quotas[s] + spares]])


def main(argv):
    p = argparse.ArgumentParser(description="drip-draw-v1 reference draw")
    p.add_argument("population")
    p.add_argument("--nonce", required=True, help="64 lower-case hex digits")
    p.add_argument("--task", required=True)
    p.add_argument("--entropy", default="")
    p.add_argument("--ratios", default="", help="S=PPM,... e.g. A=10000,-=0 (1%% of A); write "
                   "--ratios=-=... when the list starts with the '-' stratum")
    p.add_argument("--count", type=int)
    p.add_argument("--spares", type=int, default=0, help="also list the next N per stratum")
    a = p.parse_args(argv)
    ratios = {r.split("=")[0]: int(r.split("=")[1]) for r in a.ratios.split(",") if r}
    with open(a.population, "rb") as f:
        result = draw(a.nonce, a.entropy, a.task, f.read(), ratios, a.count, a.spares)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
