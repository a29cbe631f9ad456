"""kill -9 of the registry in the middle of an import: after a restart the final state is identical
to a clean import, and no event is lost or duplicated."""
import os
import subprocess
import time

import harness
from drip_world import DEPT_A, event_changes, summary, world

N = 20000


def snapshot(s):
    return s.psql("SELECT key, version, encode(hash, 'hex'), retired, valid_to IS NULL"
                  " FROM registry.target ORDER BY key, version")


def import_proc(s, f):
    """dripctl import started in the background (so the test can kill the daemon meanwhile)."""
    binary = os.path.join(s.build_dir, "tools", "dripctl", "dripctl")
    u, pw = s.nats_user("admin")
    env = dict(os.environ, DRIP_NATS_URL=s.e["DRIP_NATS_URL"], DRIP_NATS_USER=u, DRIP_NATS_PASSWORD=pw,
               DRIP_PREFIX=s.prefix, DRIP_DEPT=DEPT_A["dept"], DRIP_REGION=DEPT_A["region"])
    return subprocess.Popen([binary, "registry", "import", "--kind", "enterprise", "--batch", "500",
                             "--window", "2", "--retry-for", "120", "--rejects", s.path("rej.csv"), f],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill9_mid_import_then_restart():
    with world() as clean:
        f = clean.path("ent.csv")
        clean.dripctl("gen", "enterprises", "--count", N, "--seed", "5", "--regions", "130000", "-o", f)
        clean.dripctl("registry", "import", "--kind", "enterprise", f, **DEPT_A)
        expected = snapshot(clean)
        assert len(expected) == N
        data = open(f, "rb").read()

    with world() as s:
        f = s.path("ent.csv")
        open(f, "wb").write(data)
        p = import_proc(s, f)
        kills = 0
        # kill twice at different points of the import
        for threshold in (3000, 11000):
            harness.wait_for(lambda: int(s.psql("SELECT count(*) FROM registry.target")[0][0]) >= threshold,
                             timeout=120, interval=0.05, what="%d rows committed" % threshold)
            s.kill9("registry")
            kills += 1
            time.sleep(0.5)
            s.start("registry")
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, (out, err)
        sm = summary(out)
        assert sm["rejected"] == 0, (out, err)
        # every row accounted for exactly once, whether its first reply was lost or not
        assert sm["created"] + sm["unchanged"] == N, (sm, err)
        assert kills == 2
        assert snapshot(s) == expected
        harness.wait_for(lambda: s.psql("SELECT count(*) FROM registry.outbox")[0][0] == "0",
                         timeout=60, what="outbox drained")
        changes = event_changes(s)
        keys = [c[0] for c in changes]
        assert len(keys) == N, (len(keys), N)
        assert len(set(keys)) == N, "an event was duplicated"
        assert all(c[1] == 1 for c in changes)


if __name__ == "__main__":
    harness.main(globals())
