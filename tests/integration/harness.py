"""harness.py — helpers for drip's integration tests (Python 3 standard library only).

Integration tests drive the real binaries (daemons, dripctl, psql) against the PostgreSQL and nats-server that
`deploy/dev up` started (`deploy/dev test` does it all and exports .drip/env). Each test gets an isolated world
in those same servers:

    import harness

    def test_import_and_count():
        with harness.Scratch() as s:          # fresh database drip_t<id>, subject/stream prefix t<id>
            s.start("registry")               # the real daemon, its own PG role, waits for /healthz
            s.dripctl("registry", "import", "--kind", "region", s.source("data/regions-gbt2260.csv"))
            r = s.dripctl("registry", "count", "--kind", "target", dept="130102SCJ", region="130102")
            assert r.stdout.strip() == "0", r
            assert s.psql("SELECT count(*) FROM registry.region")[0][0] != "0"

    if __name__ == "__main__":
        harness.main(globals())

Scratch.close() (also on exceptions) stops the daemons, fails the test if one of them exited non-zero on
SIGTERM (e.g. LeakSanitizer found a leak), deletes the JetStream streams of the prefix and drops the database.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

_REQUIRED = ("DRIP_NATS_URL", "DRIP_NATS_PASSWORD", "DRIP_PG_ADMIN", "DRIP_BUILD_DIR", "DRIP_SOURCE_DIR")


class HarnessError(AssertionError):
    """A test-environment failure, with enough context (log tails, stderr) to debug it."""


# --------------------------------------------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------------------------------------------
def _read_env_file(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            if line.startswith("export "):
                line = line[7:]
            k, v = line.split("=", 1)
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            out[k] = v
    return out


_ENV = None


def env():
    """The variables of .drip/env, as exported by `deploy/dev test` (the process environment wins; a missing
    variable is taken from <repo>/.drip/env when that file exists, so a single test can be run by hand after
    `deploy/dev up`)."""
    global _ENV
    if _ENV is not None:
        return _ENV
    e = dict(os.environ)
    if any(not e.get(k) for k in _REQUIRED):
        src = e.get("DRIP_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        path = os.path.join(src, ".drip", "env")
        if os.path.exists(path):
            try:
                for k, v in _read_env_file(path).items():
                    if not e.get(k):
                        e[k] = v
            except OSError:
                pass
    missing = [k for k in _REQUIRED if not e.get(k)]
    if missing:
        raise HarnessError("environment variables %s are not set: run via deploy/dev test "
                           "(or `deploy/dev up` first)" % ", ".join(missing))
    _ENV = e
    return e


def _conninfo(base, **over):
    """libpq key=value conninfo `base` with some keys replaced (values here never contain spaces)."""
    parts = {}
    for tok in base.split():
        k, _, v = tok.partition("=")
        parts[k] = v
    parts.update({k: str(v) for k, v in over.items()})
    return " ".join("%s=%s" % kv for kv in parts.items())


def _pg_bin(name):
    d = env().get("DRIP_PG_BINDIR")
    if d and os.path.exists(os.path.join(d, name)):
        return os.path.join(d, name)
    if os.path.exists("/usr/lib/postgresql/15/bin/" + name):
        return "/usr/lib/postgresql/15/bin/" + name
    return name


def _psql(conninfo, sql, timeout=120):
    r = subprocess.run([_pg_bin("psql"), "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-f", "-"],
                       input=sql, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise HarnessError("psql failed (exit %d) on:\n%s\n%s" % (r.returncode, sql.strip(), r.stderr.strip()))
    return [tuple(line.split("\t")) for line in r.stdout.splitlines()]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, n=60):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return "(no log: %s)" % e


def http_get(url, timeout=5):
    """(status, body text); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL if the test process dies (ctest timeout), never left running."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 — best effort
        pass


# --------------------------------------------------------------------------------------------------------------
# a minimal NATS client (raw protocol) — enough for permission checks, requests and JetStream API calls
# --------------------------------------------------------------------------------------------------------------
class Nats:
    """Blocking core-NATS client speaking the text protocol. `Nats(user, password)` connects with verbose on,
    so every PUB/SUB is answered by +OK or -ERR (used to test permissions)."""

    def __init__(self, user="admin", password=None, url=None, timeout=5.0):
        e = env()
        url = url or e["DRIP_NATS_URL"]
        hostport = url.split("://", 1)[-1].split(",")[0]
        host, _, port = hostport.rpartition(":")
        if password is None:
            password = e["DRIP_NATS_PASSWORD"] if user == "admin" else e["DRIP_PW_" + user]
        self.sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.timeout = timeout
        self.sid = 0
        info = self._line()
        if not info.startswith("INFO"):
            raise HarnessError("NATS: unexpected greeting %r" % info)
        self._send("CONNECT %s\r\n" % json.dumps({"user": user, "pass": password, "verbose": True,
                                                   "pedantic": False, "headers": True, "no_responders": True,
                                                   "lang": "python-harness", "version": "0"}))
        r = self._reply()
        if r != "+OK":
            self.close()
            raise HarnessError("NATS connect as %s: %s" % (user, r))

    def _send(self, s):
        self.sock.sendall(s.encode() if isinstance(s, str) else s)

    def _line(self):
        line = self.f.readline()
        if not line:
            raise HarnessError("NATS: connection closed")
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def _reply(self):
        """Next +OK / -ERR, answering PINGs and skipping other protocol lines."""
        while True:
            line = self._line()
            if line == "PING":
                self._send("PONG\r\n")
            elif line.startswith("+OK") or line.startswith("-ERR"):
                return line
            elif line.startswith("MSG") or line.startswith("HMSG"):
                self._read_payload(line)

    def _read_payload(self, line):
        parts = line.split()
        size = int(parts[-1])
        data = self.f.read(size + 2)
        return data[:size]

    def publish(self, subject, data=b"", reply=None):
        """Returns "+OK" or the server's "-ERR '...'" text (e.g. a permissions violation)."""
        data = data.encode() if isinstance(data, str) else data
        head = "PUB %s %s%d\r\n" % (subject, (reply + " ") if reply else "", len(data))
        self._send(head.encode() + data + b"\r\n")
        return self._reply()

    def subscribe(self, subject):
        self.sid += 1
        self._send("SUB %s %d\r\n" % (subject, self.sid))
        return self._reply()

    def request(self, subject, data=b"", timeout=None):
        """Request/reply; returns (headers_text or None, payload bytes). Raises HarnessError on a
        permissions error, on no responders (status 503) and on timeout."""
        inbox = "_INBOX.%s" % secrets.token_hex(8)
        r = self.subscribe(inbox)
        if r != "+OK":
            raise HarnessError("NATS subscribe %s: %s" % (inbox, r))
        sid = self.sid
        r = self.publish(subject, data, reply=inbox)
        if r != "+OK":
            raise HarnessError("NATS publish %s: %s" % (subject, r))
        self.sock.settimeout(timeout or self.timeout)
        try:
            while True:
                line = self._line()
                if line == "PING":
                    self._send("PONG\r\n")
                    continue
                if line.startswith("-ERR"):
                    raise HarnessError("NATS request %s: %s" % (subject, line))
                if line.startswith("HMSG"):
                    p = line.split()
                    hlen, total = int(p[-2]), int(p[-1])
                    raw = self.f.read(total + 2)[:total]
                    hdr = raw[:hlen].decode("utf-8", "replace")
                    if " 503" in hdr.split("\r\n", 1)[0]:
                        raise HarnessError("NATS request %s: no responders" % subject)
                    self._send("UNSUB %d\r\n" % sid)
                    self._reply()
                    return hdr, raw[hlen:]
                if line.startswith("MSG"):
                    payload = self._read_payload(line)
                    self._send("UNSUB %d\r\n" % sid)
                    self._reply()
                    return None, payload
        except socket.timeout:
            raise HarnessError("NATS request %s: timeout" % subject) from None
        finally:
            self.sock.settimeout(self.timeout)

    def js_api(self, what, body=None, timeout=None):
        """JetStream API call, e.g. js_api("STREAM.NAMES", {"subject": "t1.>"}) -> decoded JSON."""
        _, payload = self.request("$JS.API." + what, json.dumps(body or {}).encode(), timeout)
        return json.loads(payload.decode("utf-8"))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_for(pred, timeout=30.0, interval=0.2, what="condition"):
    """Polls pred() until it returns a truthy value (returned); raises HarnessError after timeout."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise HarnessError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def may_publish(user, subject):
    """True when NATS user `user` (admin, ops, a daemon or a department code) may publish on `subject`."""
    with Nats(user) as nc:
        r = nc.publish(subject)
    if r == "+OK":
        return True
    if "Permissions Violation" in r:
        return False
    raise HarnessError("publish %s as %s: %s" % (subject, user, r))


# --------------------------------------------------------------------------------------------------------------
# Scratch: one isolated world per test
# --------------------------------------------------------------------------------------------------------------
class Scratch:
    """A fresh database drip_t<id> (each daemon's role owns its schema there, like `deploy/dev up` does in
    `drip`), a subject/stream prefix t<id> (DRIP_PREFIX), and the daemons a test starts."""

    def __init__(self, daemons=None):
        self.e = env()
        self.id = secrets.token_hex(4)
        self.prefix = "t" + self.id
        self.db = "drip_t" + self.id
        self.daemons = list(daemons or self.e.get("DRIP_DAEMONS", "registry").split())
        self.build_dir = self.e["DRIP_BUILD_DIR"]
        self.source_dir = self.e["DRIP_SOURCE_DIR"]
        self.pg_port = self.e.get("DRIP_PG_PORT", "15432")
        self.tmp = tempfile.mkdtemp(prefix="drip-%s-" % self.prefix)
        self.procs = {}      # name -> Popen
        self.ports = {}      # name -> HTTP port
        self.logs = {}       # name -> log path
        self._expected_exit = set()
        self._closed = False
        self._create_db()

    # -- database -------------------------------------------------------------------------------------------
    def _admin(self, dbname):
        return _conninfo(self.e["DRIP_PG_ADMIN"], dbname=dbname)

    def _create_db(self):
        _psql(self._admin("postgres"), "CREATE DATABASE %s;" % self.db)
        try:
            sql = ["REVOKE ALL ON DATABASE %s FROM PUBLIC;" % self.db]
            for n in self.daemons:
                sql.append("GRANT CONNECT, TEMPORARY ON DATABASE %s TO drip_%s;" % (self.db, n))
            _psql(self._admin("postgres"), "\n".join(sql))
            sql = ["REVOKE ALL ON SCHEMA public FROM PUBLIC;"]
            for n in self.daemons:
                sql.append("CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION drip_%s;" % (n, n))
            _psql(self._admin(self.db), "\n".join(sql))
        except Exception:
            self._drop_db()
            raise

    def _drop_db(self):
        _psql(self._admin("postgres"), "DROP DATABASE IF EXISTS %s WITH (FORCE);" % self.db)

    def psql(self, sql):
        """Runs `sql` as the superuser in the scratch database; rows as tuples of strings (NULL -> '')."""
        return _psql(self._admin(self.db), sql)

    def pg_conninfo(self, name):
        """libpq conninfo of daemon `name`'s own role in the scratch database."""
        pw = self.e.get("DRIP_PGPW_" + name)
        if not pw:
            raise HarnessError("no DRIP_PGPW_%s in the environment (is %s in DAEMONS of deploy/dev?)" % (name, name))
        return "host=127.0.0.1 port=%s dbname=%s user=drip_%s password=%s" % (self.pg_port, self.db, name, pw)

    # -- daemons --------------------------------------------------------------------------------------------
    def binary(self, name):
        return os.path.join(self.build_dir, "services", name, "drip-" + name)

    def start(self, name, extra_env=None, timeout=30.0):
        """Starts daemon `name` (binary <build>/services/<name>/drip-<name>) on the scratch database and
        prefix, as NATS user admin, on a free HTTP port; waits until /healthz answers 200."""
        if name in self.procs and self.procs[name].poll() is None:
            raise HarnessError("%s is already running" % name)
        binary = self.binary(name)
        if not os.access(binary, os.X_OK):
            raise HarnessError("no daemon binary %s (build failed?)" % binary)
        port = self.ports.get(name) or _free_port()
        envv = dict(os.environ)
        envv.update({
            "DRIP_PG": self.pg_conninfo(name),
            "DRIP_NATS_URL": self.e["DRIP_NATS_URL"],
            "DRIP_NATS_USER": "admin",
            "DRIP_NATS_PASSWORD": self.e["DRIP_NATS_PASSWORD"],
            "DRIP_PREFIX": self.prefix,
            "DRIP_HTTP_HOST": "127.0.0.1",
            "DRIP_HTTP_PORT": str(port),
            "DRIP_SOURCE_DIR": self.source_dir,
        })
        envv.update({k: str(v) for k, v in (extra_env or {}).items()})
        log = os.path.join(self.tmp, name + ".log")
        with open(log, "ab") as lf:
            lf.write(("---- harness: starting %s (prefix %s, db %s, port %d) ----\n"
                      % (binary, self.prefix, self.db, port)).encode())
            lf.flush()
            p = subprocess.Popen([binary], env=envv, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                                 preexec_fn=_die_with_parent)
        self.procs[name], self.ports[name], self.logs[name] = p, port, log
        self._expected_exit.discard(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise HarnessError("%s exited with status %s during start-up; log %s:\n%s"
                                   % (name, p.returncode, log, _tail(log)))
            status, _ = http_get("http://127.0.0.1:%d/healthz" % port, timeout=1)
            if status == 200:
                return p
            time.sleep(0.05)
        p.kill()
        p.wait()
        raise HarnessError("%s: /healthz not 200 within %.0f s; log %s:\n%s" % (name, timeout, log, _tail(log)))

    def stop(self, name, timeout=15.0, check=True):
        """SIGTERM and wait; returns the exit status. With check, a non-zero exit (a crash, a leak reported by
        LeakSanitizer) raises HarnessError with the log tail."""
        p = self.procs.get(name)
        if p is None:
            raise HarnessError("%s was never started" % name)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise HarnessError("%s did not exit within %.0f s of SIGTERM; log %s:\n%s"
                                   % (name, timeout, self.logs[name], _tail(self.logs[name])))
        self._expected_exit.add(name)
        if check and p.returncode != 0:
            raise HarnessError("%s exited with status %s after SIGTERM; log %s:\n%s"
                               % (name, p.returncode, self.logs[name], _tail(self.logs[name])))
        return p.returncode

    def kill9(self, name):
        """SIGKILL (crash simulation) and reap."""
        p = self.procs.get(name)
        if p is None:
            raise HarnessError("%s was never started" % name)
        if p.poll() is None:
            p.kill()
            p.wait()
        self._expected_exit.add(name)

    def running(self, name):
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    def log(self, name):
        """The daemon's whole log (all its runs in this scratch)."""
        path = self.logs.get(name) or os.path.join(self.tmp, name + ".log")
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def url(self, name, path="/"):
        return "http://127.0.0.1:%d%s" % (self.ports[name], path)

    def metrics(self, name):
        """Prometheus text of /metrics parsed to {'series{labels}': float}."""
        status, body = http_get(self.url(name, "/metrics"))
        if status != 200:
            raise HarnessError("%s /metrics answered %s" % (name, status))
        out = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, val = line.rpartition(" ")
            try:
                out[key] = float(val)
            except ValueError:
                pass
        return out

    # -- tools ----------------------------------------------------------------------------------------------
    def path(self, name):
        """A file path in this scratch's temporary directory (removed by close)."""
        return os.path.join(self.tmp, name)

    def source(self, rel):
        """Absolute path of a file in the repository, e.g. source('data/cn-holidays.csv')."""
        return os.path.join(self.source_dir, rel)

    def nats_user(self, user):
        """(user, password) of a NATS user from .drip/env: 'admin', 'ops', a daemon name or a department code
        (deploy/departments.csv) — departments may publish only on their own subjects."""
        if user == "admin":
            return "admin", self.e["DRIP_NATS_PASSWORD"]
        pw = self.e.get("DRIP_PW_" + user)
        if not pw:
            raise HarnessError("no NATS user %r in .drip/env (departments come from deploy/departments.csv)" % user)
        return user, pw

    def dripctl(self, *args, dept="OPS", region="000000", user="admin", input=None, check=True, env=None,
                timeout=600, cwd=None):
        """Runs <build>/tools/dripctl/dripctl with this scratch's prefix, as NATS user `user` (admin by default;
        a department code to use that department's own credentials) and DRIP_DEPT / DRIP_REGION.
        Returns CompletedProcess (text stdout/stderr). check: raise HarnessError on a non-zero exit."""
        binary = os.path.join(self.build_dir, "tools", "dripctl", "dripctl")
        if not os.access(binary, os.X_OK):
            raise HarnessError("no %s (build failed?)" % binary)
        u, pw = self.nats_user(user)
        envv = dict(os.environ)
        envv.update({
            "DRIP_NATS_URL": self.e["DRIP_NATS_URL"],
            "DRIP_NATS_USER": u,
            "DRIP_NATS_PASSWORD": pw,
            "DRIP_PREFIX": self.prefix,
            "DRIP_DEPT": dept,
            "DRIP_REGION": region,
            "DRIP_SOURCE_DIR": self.source_dir,
        })
        envv.update({k: str(v) for k, v in (env or {}).items()})
        if isinstance(input, bytes):
            input = input.decode("utf-8")
        argv = [binary] + [str(a) for a in args]
        try:
            r = subprocess.run(argv, env=envv, input=input, capture_output=True, text=True, encoding="utf-8",
                               errors="replace", timeout=timeout, cwd=cwd or self.tmp,
                               stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise HarnessError("dripctl %s: no answer within %s s\nstderr:\n%s"
                               % (" ".join(argv[1:]), timeout, (e.stderr or "")[-3000:])) from None
        if check and r.returncode != 0:
            raise HarnessError("dripctl %s (user %s, dept %s, region %s) exited %d\nstdout:\n%s\nstderr:\n%s"
                               % (" ".join(argv[1:]), u, dept, region, r.returncode, r.stdout[-3000:],
                                  r.stderr[-3000:]))
        return r

    def nats(self, user="admin"):
        """A raw-protocol NATS connection (see Nats) as `user`."""
        u, pw = self.nats_user(user)
        return Nats(u, pw, self.e["DRIP_NATS_URL"])

    def streams(self):
        """Names of the JetStream streams that hold this scratch's subjects (prefix t<id>)."""
        with self.nats() as nc:
            r = nc.js_api("STREAM.NAMES", {"subject": self.prefix + ".>"})
        return list(r.get("streams") or [])

    def stream_msgs(self, stream):
        """Message count of a stream (JetStream API)."""
        with self.nats() as nc:
            r = nc.js_api("STREAM.INFO." + stream)
        if "error" in r:
            raise HarnessError("stream %s: %s" % (stream, r["error"]))
        return int(r["state"]["messages"])

    # -- teardown -------------------------------------------------------------------------------------------
    def close(self, raise_errors=True):
        if self._closed:
            return
        self._closed = True
        problems = []
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                try:
                    self.stop(name, check=False)
                except HarnessError as e:
                    problems.append(str(e))
                    continue
            if name not in self._expected_exit:
                problems.append("%s had exited on its own with status %s; log %s:\n%s"
                                % (name, p.returncode, self.logs[name], _tail(self.logs[name])))
            elif p.returncode not in (0, -signal.SIGKILL):
                problems.append("%s exited with status %s on SIGTERM; log %s:\n%s"
                                % (name, p.returncode, self.logs[name], _tail(self.logs[name])))
        try:
            with self.nats() as nc:
                names = nc.js_api("STREAM.NAMES", {"subject": self.prefix + ".>"}).get("streams") or []
                for s in names:
                    nc.js_api("STREAM.DELETE." + s)
        except (HarnessError, OSError) as e:
            problems.append("deleting JetStream streams of prefix %s: %s" % (self.prefix, e))
        try:
            self._drop_db()
        except HarnessError as e:
            problems.append(str(e))
        if not problems:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if problems and raise_errors:
            raise HarnessError("scratch %s teardown:\n%s" % (self.prefix, "\n\n".join(problems)))
        if problems:
            sys.stderr.write("scratch %s teardown problems (logs kept in %s):\n%s\n"
                             % (self.prefix, self.tmp, "\n\n".join(problems)))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        # An exception already propagating wins; teardown problems are then only printed.
        self.close(raise_errors=exc_type is None)
        return False


# --------------------------------------------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------------------------------------------
def main(g):
    """Runs the test_* functions of a module in definition order (or only those named on the command line),
    prints PASS/FAIL with a traceback, ends with 'N passed, N failed' and exits 1 on any failure."""

    def _term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, _term)
    only = set(sys.argv[1:])
    tests = [(n, f) for n, f in g.items() if n.startswith("test_") and callable(f) and (not only or n in only)]
    if only - {n for n, _ in tests}:
        print("no such test: %s" % ", ".join(sorted(only - {n for n, _ in tests})), flush=True)
        sys.exit(2)
    passed = failed = 0
    try:
        env()
    except HarnessError as e:
        print("FAIL environment: %s" % e, flush=True)
        sys.exit(1)
    for n, f in tests:
        t0 = time.monotonic()
        print("RUN  %s" % n, flush=True)
        try:
            f()
        except KeyboardInterrupt:
            print("FAIL %s (interrupted)" % n, flush=True)
            failed += 1
            break
        except BaseException:  # noqa: BLE001 — report everything, go on with the next test
            failed += 1
            print("FAIL %s (%.1f s)" % (n, time.monotonic() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
        else:
            passed += 1
            print("PASS %s (%.1f s)" % (n, time.monotonic() - t0), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed or not tests else 0)
