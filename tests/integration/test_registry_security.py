"""A department can change only its own data: NATS permissions confine its credentials to its own
subjects, and the registry checks envelope, region, ownership and record departments."""
import secrets

import harness
import pb
from drip_world import DEPT_A, DEPT_B, read_csv, summary, world


def batch_reply(s, subject, payload):
    with s.nats() as nc:
        _, data = nc.request(subject, payload, timeout=10)
    return pb.decode(data)


def test_nats_permissions_confine_departments():
    # the real credentials of deploy/dev up, on the production prefix
    assert harness.may_publish("130102SCJ", "drip.reg.cmd.13.01.02.130102SCJ.target")
    assert not harness.may_publish("130102SCJ", "drip.reg.cmd.13.05.34.130534SCJ.target")
    assert not harness.may_publish("130102SCJ", "drip.reg.cmd.13.01.02.130102SWJ.target")
    assert not harness.may_publish("130102SCJ", "drip.reg.cmd.00.00.00.OPS.region")
    assert not harness.may_publish("130102SCJ", "drip.evt.registry.13.01.02.130102SCJ.target")
    assert not harness.may_publish("130102SCJ", "$JS.API.STREAM.DELETE.DRIP_REGISTRY")
    assert harness.may_publish("ops", "drip.reg.cmd.00.00.00.OPS.region")
    assert not harness.may_publish("ops", "drip.reg.cmd.13.01.02.130102SCJ.target")


def test_department_cannot_change_another_departments_data():
    with world() as s:
        f = s.path("a.csv")
        s.dripctl("gen", "enterprises", "--count", "300", "--seed", "3", "--regions", "130000", "-o", f)
        assert summary(s.dripctl("registry", "import", "--kind", "enterprise", f, **DEPT_A).stdout)["created"] == 300
        before = s.psql("SELECT count(*), sum(version) FROM registry.target")

        # B re-sends A's targets with other content, on its own subject: every record refused
        rows = read_csv(f)
        for r in rows:
            r["name"] = r["name"] + "（篡改）"
        g = s.path("b.csv")
        with open(g, "w", encoding="utf-8") as out:
            out.write(",".join(rows[0].keys()) + "\n")
            for r in rows:
                out.write(",".join(r.values()) + "\n")
        rej = s.path("b.rej.csv")
        sm = summary(s.dripctl("registry", "import", "--kind", "enterprise", "--rejects", rej, g, **DEPT_B).stdout)
        assert sm["rejected"] == 300 and sm["created"] == 0 and sm["updated"] == 0, sm
        for x in read_csv(rej):
            assert x["error"] == "forbidden" and "owned by department 130102SCJ" in x["reason"], x

        # B retires A's target: refused
        r = s.dripctl("registry", "retire", "--kind", "target", rows[0]["uscc"], "--reason", "test",
                      check=False, **DEPT_B)
        assert "forbidden" in (r.stdout + r.stderr), r

        # a message on A's subject whose envelope claims B: refused as a whole
        uscc = rows[0]["uscc"]
        t = pb.target(uscc, "改名", "130102")
        rep = batch_reply(s, "%s.reg.cmd.13.01.02.130102SCJ.target" % s.prefix,
                          pb.registry_batch(pb.envelope(secrets.token_hex(8), "130534SCJ", "130534"), [t]))
        code, msg = rep[2][0], rep[3][0].decode()
        assert code == 14 and "header.dept" in msg, (code, msg)  # ERR_BAD_ENVELOPE

        # B on a subject with A's region tokens (envelope consistent): B does not belong there
        rep = batch_reply(s, "%s.reg.cmd.13.01.02.130534SCJ.target" % s.prefix,
                          pb.registry_batch(pb.envelope(secrets.token_hex(8), "130534SCJ", "130102"), [t]))
        assert rep[2][0] == 11 and "belongs to region 130534" in rep[3][0].decode(), rep  # ERR_FORBIDDEN

        # an unregistered department
        rep = batch_reply(s, "%s.reg.cmd.13.01.02.130102XXX.target" % s.prefix,
                          pb.registry_batch(pb.envelope(secrets.token_hex(8), "130102XXX", "130102"), [t]))
        assert rep[2][0] == 10, rep  # ERR_UNKNOWN_DEPT

        # a department pushing regions (operator-only)
        reg = pb.f_bytes(1, "130199") + pb.f_bytes(2, "X") + pb.f_varint(3, 3) + pb.f_bytes(4, "130100")
        rep = batch_reply(s, "%s.reg.cmd.13.01.02.130102SCJ.region" % s.prefix,
                          pb.registry_batch(pb.envelope(secrets.token_hex(8), "130102SCJ", "130102"), [reg], field=6))
        assert rep[2][0] == 11 and "operator" in rep[3][0].decode(), rep

        # A pushes an inspector of department B: that record is refused
        insp = s.path("insp.csv")
        with open(insp, "w", encoding="utf-8") as out:
            out.write("id,name,region,cert_no,cert_expiry,qualifications,expert,team,active,recusals\n")
            out.write("X-1,张三,130102,13010020230001,2030-01-01,食品安全,0,,1,\n")
        r = s.dripctl("registry", "import", "--kind", "inspector", insp, **DEPT_A)
        assert summary(r.stdout)["created"] == 1
        rep = batch_reply(s, "%s.reg.cmd.13.01.02.130102SCJ.inspector" % s.prefix,
                          pb.registry_batch(pb.envelope(secrets.token_hex(8), "130102SCJ", "130102"),
                                            [pb.f_bytes(1, "130534SCJ") + pb.f_bytes(2, "Y-1") + pb.f_bytes(3, "李四")
                                             + pb.f_bytes(5, "C1") + pb.f_bytes(6, "2030-01-01")], field=3))
        results = [pb.decode(x) for x in rep[4]]
        assert results[0][3] == [5] and results[0][4] == [11], results  # REJECTED, ERR_FORBIDDEN

        assert s.psql("SELECT count(*), sum(version) FROM registry.target") == before
        assert s.psql("SELECT count(*) FROM registry.record WHERE kind = 2") == [("1",)]


if __name__ == "__main__":
    harness.main(globals())
