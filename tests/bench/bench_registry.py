"""deploy/dev bench registry — 1 000 000 enterprises pushed through the bus, as a department system
would (dripctl import: CSV -> RegistryBatch of 1 000 -> NATS request/reply -> drip-registry ->
versioned rows + outbox event + inbox reply in one PostgreSQL transaction), against a raw COPY of the
same rows into an equivalent table (same columns, same primary key) in the same run.

Prints rows/s for both, the ratio (goal >= 0.5x COPY), the relay's time to publish every event,
and the peak RSS of the daemon and the client. Size: BENCH_ROWS (default 1000000)."""
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from drip_world import DEPT_A, load_reference, summary  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
WINDOW = os.environ.get("BENCH_WINDOW", "4")


def main():
    with harness.Scratch() as s:
        s.start("registry")
        load_reference(s)
        f = s.path("enterprises.csv")
        t0 = time.perf_counter()
        s.dripctl("gen", "enterprises", "--count", ROWS, "--seed", "1", "--regions", "130000,630000", "-o", f)
        print("generated %d enterprises (%.0f MB) in %.1f s" % (ROWS, os.path.getsize(f) / 1e6,
                                                                time.perf_counter() - t0))

        # 1. through the bus
        binary = os.path.join(s.build_dir, "tools", "dripctl", "dripctl")
        env = dict(os.environ, DRIP_NATS_URL=s.e["DRIP_NATS_URL"], DRIP_NATS_USER="admin",
                   DRIP_NATS_PASSWORD=s.e["DRIP_NATS_PASSWORD"], DRIP_PREFIX=s.prefix,
                   DRIP_DEPT=DEPT_A["dept"], DRIP_REGION=DEPT_A["region"])
        t0 = time.perf_counter()
        p = subprocess.Popen([binary, "registry", "import", "--kind", "enterprise", "--window", WINDOW, f],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate()
        bus_s = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit("import failed:\n%s\n%s" % (out, err[-3000:]))
        client_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        sm = summary(out)
        assert sm["created"] == ROWS, out
        stored = int(s.psql("SELECT count(*) FROM registry.target WHERE valid_to IS NULL")[0][0])
        assert stored == ROWS, stored
        t_relay0 = time.perf_counter()
        harness.wait_for(lambda: s.psql("SELECT count(*) FROM registry.outbox")[0][0] == "0",
                         timeout=600, interval=0.2, what="outbox drained")
        relay_extra = time.perf_counter() - t_relay0
        m = s.metrics("registry")
        daemon_rss = m.get("process_max_resident_memory_bytes", 0)
        stream = s.streams()[0]
        events = s.stream_msgs(stream)

        # 2. baseline: raw COPY of the same rows into an equivalent table, same server, same run
        dump = s.path("target.copy")
        s.psql("CREATE SCHEMA bench; CREATE TABLE bench.target (LIKE registry.target INCLUDING ALL);")
        subprocess.run([harness._pg_bin("psql"), "-XAtq", "-d", s._admin(s.db), "-c",
                        "\\copy registry.target TO '%s'" % dump], check=True)
        t0 = time.perf_counter()
        subprocess.run([harness._pg_bin("psql"), "-XAtq", "-d", s._admin(s.db), "-c",
                        "\\copy bench.target FROM '%s'" % dump], check=True)
        copy_s = time.perf_counter() - t0
        copied = int(s.psql("SELECT count(*) FROM bench.target")[0][0])
        assert copied == ROWS

        bus_rate, copy_rate = ROWS / bus_s, ROWS / copy_s
        print()
        print("registry bench: %d enterprises, batch 1000, %s batches in flight" % (ROWS, WINDOW))
        print("  through the bus (dripctl -> NATS -> drip-registry -> PostgreSQL, committed):"
              " %7.2f s  %9.0f rows/s" % (bus_s, bus_rate))
        print("  raw COPY into an equivalent table (same columns and primary key):      "
              " %7.2f s  %9.0f rows/s" % (copy_s, copy_rate))
        print("  ratio bus / COPY: %.2fx   (goal >= 0.50x)" % (bus_rate / copy_rate))
        print("  events on JetStream: %d messages (one per batch of changes); outbox drained %.1f s"
              " after the last reply" % (events, relay_extra))
        print("  peak RSS: drip-registry %.1f MiB, dripctl %.1f MiB" % (daemon_rss / 2**20, client_rss / 2**20))


if __name__ == "__main__":
    main()
