"""jsutil.py — JetStream from tests over the raw NATS protocol (harness.Nats, standard library only):
create a stream, publish with a Nats-Msg-Id header and wait for the stream's acknowledgement, read a
stream's messages. Used to play another daemon's part (e.g. the planner's events for the sampler).

    with s.nats() as nc:
        ensure_stream(nc, "T1234_PLANNER", ["t1234.evt.planner.>"])
        ack = publish(nc, "t1234.evt.planner.13.00.00.130000SCJ.task", payload, "planner:1")
        assert ack["seq"] == 1 and not ack.get("duplicate")
        for m in read_stream(nc, "T1234_SAMPLER"):
            print(m["seq"], m["subject"], m["headers"].get("Nats-Msg-Id"), len(m["data"]))
"""
import base64
import json
import secrets
import socket

import harness

NS = 1000 * 1000 * 1000


def ensure_stream(nc, name, subjects, duplicate_window_s=24 * 3600):
    """Creates the stream (file storage) unless it exists; returns the server's answer."""
    r = nc.js_api("STREAM.INFO." + name)
    if "error" not in r:
        return r
    cfg = {"name": name, "subjects": list(subjects), "storage": "file", "retention": "limits",
           "discard": "old", "num_replicas": 1, "duplicate_window": duplicate_window_s * NS}
    r = nc.js_api("STREAM.CREATE." + name, cfg)
    if "error" in r:
        raise harness.HarnessError("create stream %s: %s" % (name, r["error"]))
    return r


def _read_msg(nc, sid):
    """Next MSG/HMSG for subscription sid: (headers text or None, payload)."""
    while True:
        line = nc._line()
        if line == "PING":
            nc._send("PONG\r\n")
            continue
        if line.startswith("-ERR"):
            raise harness.HarnessError("NATS: %s" % line)
        if line.startswith("+OK"):
            continue
        if line.startswith("HMSG"):
            p = line.split()
            hlen, total = int(p[-2]), int(p[-1])
            raw = nc.f.read(total + 2)[:total]
            if p[2] != str(sid):
                continue
            return raw[:hlen].decode("utf-8", "replace"), raw[hlen:]
        if line.startswith("MSG"):
            p = line.split()
            raw = nc.f.read(int(p[-1]) + 2)[:int(p[-1])]
            if p[2] != str(sid):
                continue
            return None, raw


def publish(nc, subject, data, msg_id, timeout=10.0, headers=None):
    """Publishes `data` with header Nats-Msg-Id = msg_id (HPUB) and waits for the JetStream PubAck:
    returns it as a dict ({"stream":..., "seq":N, "duplicate": true?}); raises on an error ack."""
    inbox = "_INBOX.%s" % secrets.token_hex(8)
    r = nc.subscribe(inbox)
    if r != "+OK":
        raise harness.HarnessError("subscribe %s: %s" % (inbox, r))
    sid = nc.sid
    hdr = "NATS/1.0\r\nNats-Msg-Id: %s\r\n" % msg_id
    for k, v in (headers or {}).items():
        hdr += "%s: %s\r\n" % (k, v)
    hb = (hdr + "\r\n").encode("utf-8")
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    nc._send(("HPUB %s %s %d %d\r\n" % (subject, inbox, len(hb), len(hb) + len(data))).encode()
             + hb + data + b"\r\n")
    nc.sock.settimeout(timeout)
    try:
        hdrs, payload = _read_msg(nc, sid)
    except socket.timeout:
        raise harness.HarnessError("JetStream publish to %s: no acknowledgement" % subject) from None
    finally:
        nc.sock.settimeout(nc.timeout)
        nc._send("UNSUB %d\r\n" % sid)
        nc._reply()
    if hdrs and " 503" in hdrs.split("\r\n", 1)[0]:
        raise harness.HarnessError("JetStream publish to %s: no stream listens on it" % subject)
    ack = json.loads(payload.decode("utf-8"))
    if "error" in ack:
        raise harness.HarnessError("JetStream publish to %s: %s" % (subject, ack["error"]))
    return ack


def stream_state(nc, name):
    r = nc.js_api("STREAM.INFO." + name)
    if "error" in r:
        raise harness.HarnessError("stream %s: %s" % (name, r["error"]))
    return r["state"]


def _headers(text):
    out = {}
    for line in (text or "").split("\r\n")[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


def read_stream(nc, name, start_seq=1):
    """Every message of stream `name` from start_seq to its current last sequence (deleted sequences
    skipped): dicts with seq, subject, headers (dict) and data (bytes)."""
    st = stream_state(nc, name)
    out = []
    for seq in range(max(start_seq, int(st.get("first_seq", 1))), int(st.get("last_seq", 0)) + 1):
        r = nc.js_api("STREAM.MSG.GET." + name, {"seq": seq})
        if "error" in r:
            continue
        m = r["message"]
        out.append({"seq": m["seq"], "subject": m["subject"],
                    "headers": _headers(base64.b64decode(m["hdrs"]).decode("utf-8", "replace"))
                    if m.get("hdrs") else {},
                    "data": base64.b64decode(m.get("data") or "")})
    return out
