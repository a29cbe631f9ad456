"""drip-sampler crash safety: the draw runs inside the planner consumer's transaction, so a sampler killed
with SIGKILL in the middle of a draw leaves nothing behind, and the redelivered order draws again — once,
identically (the freeze time is the order's at_ms; nonce and E come with the order).

    set -a; . .drip/env; set +a; DRIP_BUILD_DIR=... python3 tests/integration/test_sampler_crash.py
SAMPLER_KILL_TARGETS (default 200000) sets the number of generated enterprises."""
import os
import time

import harness
import jsutil
import pb_sampler as ps
from drip_world import load_reference
from test_sampler import FAST_ENV, World, _ensure_sampler_role, check_against_reference, projection_lines


def test_kill9_mid_draw_then_identical_draw():
    """200 000 enterprises. The sampler is killed (SIGKILL) in the middle of a draw: nothing of it is stored;
    after a restart the order comes back and is drawn once, identically to the reference."""
    n = int(os.environ.get("SAMPLER_KILL_TARGETS", "200000"))
    _ensure_sampler_role()
    s = harness.Scratch(daemons=["registry", "sampler"])
    with s:
        f = s.path("enterprises.csv")
        s.dripctl("gen", "enterprises", "--count", n, "--seed", 21, "--regions", "130000", "-o", f)
        s.start("registry")
        load_reference(s)
        w = World(s)
        with s.nats() as nc:
            jsutil.ensure_stream(nc, w.planner_stream, [s.prefix + ".evt.planner.>"])
        w.import_targets(f, window=8)
        env = dict(FAST_ENV, DRIP_SAMPLER_ORDER_ACK_WAIT_S="8")
        s.start("sampler", extra_env=env)
        w.wait_projection()
        nonce = os.urandom(32)
        t = w.publish_task("K1", nonce, ratio_ppm=10000)
        w.order(t, nonce, force=True, reason="测试")
        harness.wait_for(lambda: '"draw.begin"' in s.log("sampler"), timeout=60, interval=0.01,
                         what="the draw to begin")
        time.sleep(0.05)
        s.kill9("sampler")
        assert '"draw.done"' not in s.log("sampler"), "the draw finished before the kill: use more targets"
        assert s.psql("SELECT count(*) FROM sampler.draw")[0][0] == "0"
        assert s.psql("SELECT count(*) FROM sampler.draw_member")[0][0] == "0"
        s.start("sampler", extra_env=env)
        w.wait_event(ps.DRAW_COMPLETED, "K1", timeout=180)
        rep = w.draw_get("K1")
        assert rep["draw_nos"] == [1]
        lines, _ = w.population("K1")
        assert lines.count(b"\n") == rep["record"]["population_size"] > n // 3
        assert lines == projection_lines(s)
        print("kill -9 test:", [ln for ln in s.log("sampler").splitlines() if '"draw.done"' in ln][-1])
        check_against_reference(rep["record"], lines)
        assert len(w.find(ps.DRAW_COMPLETED, "K1")) == rep["record"]["total_quota"] // 5000 + 1
        assert s.psql("SELECT count(*) FROM sampler.draw")[0][0] == "1"


if __name__ == "__main__":
    harness.main(globals())
