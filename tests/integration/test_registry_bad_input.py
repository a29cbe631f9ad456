"""Bad input from outside: garbage, oversized, malformed subjects, empty and over-long batches,
and each per-record rejection reason. Each gets a specific error reply, changes nothing, and the
daemon keeps serving."""
import os
import secrets

import harness
import pb
from drip_world import DEPT_A, read_csv, summary, world


def request(s, subject, payload):
    with s.nats() as nc:
        _, data = nc.request(subject, payload, timeout=15)
    return pb.reply_error(data)


def test_garbage_and_oversized_messages():
    with world() as s:
        subj = "%s.reg.cmd.13.01.02.130102SCJ.target" % s.prefix
        code, msg = request(s, subj, os.urandom(4096) + b"\xff\xff\xff\xff\x0f")
        assert code == 2 and "RegistryBatch" in msg, (code, msg)  # ERR_BAD_MESSAGE
        code, msg = request(s, subj, b"\x0a\x7f\x01")  # truncated length prefix
        assert code == 2, (code, msg)
        code, msg = request(s, subj, b"\x00" * (5 * 1024 * 1024))
        assert code == 3 and "exceeds" in msg, (code, msg)  # ERR_TOO_LARGE
        code, msg = request(s, "%s.reg.cmd.13.01.130102SCJ.target" % s.prefix, b"")
        assert code == 14, (code, msg)  # subject shape: ERR_BAD_ENVELOPE
        code, msg = request(s, "%s.reg.cmd.13.01.02.130102SCJ.bogus" % s.prefix, b"")
        assert code == 2 and "unknown kind" in msg, (code, msg)
        hdr = pb.envelope(secrets.token_hex(8), "130102SCJ", "130102")
        code, msg = request(s, subj, pb.registry_batch(hdr))
        assert code == 4 and "empty" in msg, (code, msg)  # ERR_MISSING_FIELD
        t = pb.target("91330100716105852F", "x", "130102")
        code, msg = request(s, subj, pb.registry_batch(hdr, [t] * 1001))
        assert code == 3 and "1001" in msg, (code, msg)
        code, msg = request(s, subj, pb.registry_batch(b"", [t]))
        assert code == 14 and "msg_id" in msg, (code, msg)
        # queries too
        code, msg = request(s, "%s.reg.qry.13.01.02.130102SCJ.count" % s.prefix, os.urandom(300) + b"\xff")
        assert code == 2, (code, msg)
        assert s.psql("SELECT count(*) FROM registry.target") == [("0",)]
        assert harness.http_get(s.url("registry", "/healthz"))[0] == 200
        assert s.running("registry")
        # and it still serves real work
        f = s.path("e.csv")
        s.dripctl("gen", "enterprises", "--count", "50", "--seed", "9", "--regions", "130000", "-o", f)
        assert summary(s.dripctl("registry", "import", "--kind", "enterprise", f, **DEPT_A).stdout)["created"] == 50


HEADER = "uscc,name,kind,region,industry,ownership,registered_capital,established,status,credit_class,tags\n"
GOOD = "91330100716105852F,杭州某某有限公司,enterprise,130102,C1311,domestic,5000000,2019-05-06,存续,B,食品经营"


def test_every_rejection_reason():
    cases = [  # (row, error, text that must appear in the reason)
        (GOOD.replace("852F", "852E"), "bad_uscc", "check digit"),
        (GOOD.replace("91330100716105852F", "9133010071610585"), "bad_uscc", "18"),
        (GOOD.replace("91330100716105852F", "91330100716105852I"), "bad_uscc", "character"),
        (GOOD.replace(",130102,", ",139999,"), "bad_region", "139999"),
        (GOOD.replace(",130102,", ",13010,"), "bad_region", "region"),
        (GOOD.replace("2019-05-06", "2023-02-30"), "bad_date", "established"),
        (GOOD.replace("2019-05-06", "2099-01-01"), "bad_date", "future"),
        (GOOD.replace("杭州某某有限公司", ""), "missing_field", "name"),
        (GOOD.replace("5000000", "abc"), "bad_value", "registered_capital"),
        (GOOD.replace("存续", "倒闭"), "bad_enum", "status"),
        (GOOD.replace(",B,", ",E,"), "bad_enum", "credit_class"),
        (GOOD.replace("C1311", "Z99"), "bad_value", "industry"),
        (GOOD.replace("食品经营", "a;a"), "conflict", "twice"),
    ]
    with world() as s:
        f = s.path("bad.csv")
        with open(f, "w", encoding="utf-8") as out:
            out.write(HEADER)
            for row, _, _ in cases:
                out.write(row + "\n")
            out.write(GOOD + "\n")
            out.write(GOOD.replace("有限公司", "股份有限公司") + "\n")  # same key again in the batch
        rej = s.path("bad.rej.csv")
        sm = summary(s.dripctl("registry", "import", "--kind", "enterprise", "--rejects", rej, f, **DEPT_A).stdout)
        assert sm["created"] == 1 and sm["rejected"] == len(cases) + 1, sm
        got = {int(x["line"]): x for x in read_csv(rej)}
        for i, (row, err, text) in enumerate(cases):
            x = got[i + 2]
            assert x["error"] == err and text in x["reason"], (row, x)
        dup = got[len(cases) + 3]
        assert dup["error"] == "conflict" and "more than once" in dup["reason"], dup
        assert s.psql("SELECT key FROM registry.target") == [("91330100716105852F",)]


if __name__ == "__main__":
    harness.main(globals())
