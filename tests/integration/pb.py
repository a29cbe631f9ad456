"""pb.py — a minimal protobuf wire-format encoder/decoder, enough for tests to craft messages that
dripctl would never send (wrong envelope, garbage, oversized) and to read error replies. It is an
independent implementation of the wire format, not generated from proto/."""


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return varint((num << 3) | 2) + varint(len(b)) + b


def envelope(msg_id, dept, region):
    return f_bytes(1, msg_id) + f_bytes(3, dept) + f_bytes(4, region) + f_varint(6, 1)


def target(uscc, name, region, kind=1, status=1):
    return (f_varint(1, kind) + f_bytes(2, uscc) + f_bytes(4, name) + f_bytes(5, region)
            + f_varint(11, status))


def registry_batch(header, targets=(), field=2):
    """RegistryBatch with `targets` (already encoded records) in repeated field `field`."""
    return f_bytes(1, header) + b"".join(f_bytes(field, t) for t in targets)


def decode(buf):
    """{field number: [values]} — varints as int, length-delimited as bytes."""
    out = {}
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(buf, i)
        elif wt == 2:
            n, i = _read_varint(buf, i)
            v = bytes(buf[i:i + n])
            i += n
        elif wt == 1:
            v = bytes(buf[i:i + 8])
            i += 8
        elif wt == 5:
            v = bytes(buf[i:i + 4])
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def _read_varint(buf, i):
    shift = 0
    v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def reply_error(buf):
    """(error code, error message) of any drip reply (fields 2 and 3 of every reply type)."""
    d = decode(buf)
    code = d.get(2, [0])[0]
    msg = d.get(3, [b""])[0].decode("utf-8", "replace")
    return code, msg
