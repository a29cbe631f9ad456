"""pb_sampler.py — hand-written protobuf encoders/decoders for the planner and sampler contracts
(proto/drip/planner.proto, sampler.proto, the TargetFilter of registry.proto), written from the
.proto files with the wire format of pb.py; independent of the generated C code.

Encoders take keyword arguments named like the proto fields and return bytes; decoders return dicts
named like the proto fields (repeated fields as lists, absent scalars missing)."""
import hashlib

from pb import decode, f_bytes, f_varint

# ---- planner.proto enums -------------------------------------------------------------------------
TASK_PUBLISHED, TASK_ADJUSTED, TASK_CANCELLED, TASK_DRAW_ORDERED = 5, 6, 7, 8
JOINT, INTERNAL = 1, 2
ENTERPRISE, INDIVIDUAL, COOPERATIVE, PROJECT = 1, 2, 3, 4
CLASS = {"": 0, "-": 0, "A": 1, "B": 2, "C": 3, "D": 4}

# ---- sampler.proto enums -------------------------------------------------------------------------
POPULATION_FROZEN, DRAW_COMPLETED, TARGET_CONFIRMED, TARGET_REPLACED = 1, 2, 3, 4
DRAW_SETTLED, DRAW_OVERDUE, DRAW_REFUSED = 5, 6, 7
PENDING, CONFIRMED, REJECTED, OVERDUE = 1, 2, 3, 4


def _s(num, v):
    return f_bytes(num, v) if v is not None else b""


def _v(num, v):
    if v is None:
        return b""
    if isinstance(v, bool):
        v = int(v)
    return f_varint(num, v)


def _rs(num, vals):
    return b"".join(f_bytes(num, x) for x in (vals or ()))


def _rv(num, vals):
    return b"".join(f_varint(num, int(x)) for x in (vals or ()))


def envelope(msg_id, dept, region, correlation_id=None):
    return (f_bytes(1, msg_id) + _s(2, correlation_id) + f_bytes(3, dept) + f_bytes(4, region)
            + f_varint(6, 1))


def target_filter(regions=(), kinds=(), statuses=(), credit_classes=(), ownerships=(), capital_min=None,
                  capital_max=None, established_before=None, established_after=None, industries=(),
                  tags_all=(), owner=None):
    return (_rs(1, regions) + _rv(2, kinds) + _rv(3, statuses) + _rv(4, credit_classes) + _rv(5, ownerships)
            + _v(6, capital_min) + _v(7, capital_max) + _s(8, established_before) + _s(9, established_after)
            + _rs(10, industries) + _rs(11, tags_all) + _s(12, owner))


def task(code, lead_dept, target_kind=ENTERPRISE, name="测试任务", kind=INTERNAL, targeted=None,
         cooperating_depts=(), items=None, scope=None, ratio_ppm=None, class_ratios=None, count=None,
         stratify=None, inspectors_per_check=2, confirm_workdays=2, result_workdays=5,
         window_start=None, window_end=None, exclude_inspected_days=None, max_inspections_per_year=None,
         cap_exempt_classes=(), state=None, commitment=None, version=1, plan_code="2024-130000-130000SCJ-1"):
    """items: {dept: [item codes]}; class_ratios: {"A": ppm, ...}; scope: bytes of target_filter()."""
    out = f_bytes(1, code) + f_bytes(2, name) + _v(3, kind) + _v(4, targeted) + f_bytes(5, lead_dept)
    out += _rs(6, cooperating_depts)
    for dept, codes in (items or {}).items():
        out += f_bytes(7, f_bytes(1, dept) + _rs(2, codes))
    out += _v(8, target_kind)
    if scope is not None:
        out += f_bytes(9, scope)
    out += _v(10, ratio_ppm)
    for cls, ppm in (class_ratios or {}).items():
        out += f_bytes(11, f_varint(1, CLASS[cls]) + f_varint(2, ppm))
    out += _v(12, count) + _v(13, stratify) + _v(14, inspectors_per_check) + _v(15, confirm_workdays)
    out += _v(16, result_workdays) + _s(17, window_start) + _s(18, window_end)
    out += _v(19, exclude_inspected_days) + _v(20, max_inspections_per_year) + _rv(21, cap_exempt_classes)
    out += _v(30, state) + _s(31, commitment) + _v(32, version) + _s(33, plan_code)
    return out


def planner_event(header, kind, task_bytes=None, reason=None, nonce=None, entropy=None, entropy_source=None,
                  redraw=None, force=None, at_ms=None):
    return (f_bytes(1, header) + f_varint(2, kind) + (f_bytes(4, task_bytes) if task_bytes is not None else b"")
            + _s(5, reason) + (f_bytes(6, nonce) if nonce is not None else b"") + _s(7, entropy)
            + _s(8, entropy_source) + _v(9, redraw) + _v(10, force) + _v(11, at_ms))


def commitment(nonce):
    return hashlib.sha256(nonce).hexdigest()


def draw_query(header, task_code, draw_no=None):
    return f_bytes(1, header) + f_bytes(2, task_code) + _v(3, draw_no)


def population_query(header, task_code, draw_no=None, after=None, limit=None):
    return f_bytes(1, header) + f_bytes(2, task_code) + _v(3, draw_no) + _s(4, after) + _v(5, limit)


def dept_decision(uscc, accept, reason=None):
    return f_bytes(1, uscc) + f_varint(3, int(accept)) + _s(4, reason)


def confirm_request(header, task_code, decisions):
    return f_bytes(1, header) + f_bytes(2, task_code) + b"".join(f_bytes(3, d) for d in decisions)


# ---- decoding ------------------------------------------------------------------------------------
# field number -> (name, type); type: "s" string, "b" bytes, "u" varint, "i" signed 64-bit varint,
# "?" bool, a dict = sub-message; names ending in [] are repeated.
STRATUM = {1: ("stratum", "s"), 2: ("size", "u"), 3: ("quota", "u"), 4: ("threshold", "s"), 5: ("ratio_ppm", "u")}
DRAWN = {1: ("uscc", "s"), 2: ("stratum", "s"), 3: ("ticket", "s"), 4: ("rank", "u"), 5: ("replaces", "s"),
         6: ("state", "u")}
REPLACEMENT = {1: ("rejected_uscc", "s"), 2: ("dept", "s"), 3: ("reason", "s"), 4: ("replacement_uscc", "s"),
               5: ("ticket", "s"), 6: ("at_ms", "i")}
DECISION = {1: ("uscc", "s"), 2: ("dept", "s"), 3: ("accept", "?"), 4: ("reason", "s"), 5: ("at_ms", "i")}
ENVELOPE = {1: ("msg_id", "s"), 2: ("correlation_id", "s"), 3: ("dept", "s"), 4: ("region", "s"),
            5: ("sent_at_ms", "i"), 6: ("schema_version", "u")}
RECORD = {1: ("task_code", "s"), 2: ("plan_code", "s"), 3: ("draw_no", "u"), 4: ("algorithm", "s"),
          5: ("commitment", "s"), 6: ("nonce", "s"), 7: ("entropy", "s"), 8: ("entropy_source", "s"),
          9: ("population_digest", "s"), 10: ("population_size", "u"), 11: ("frozen_at_ms", "i"),
          12: ("strata[]", STRATUM), 13: ("seed", "s"), 14: ("selected[]", DRAWN),
          15: ("replacements[]", REPLACEMENT), 16: ("drawn_at_ms", "i"), 17: ("redraw_reason", "s"),
          18: ("superseded", "?"), 19: ("confirm_deadline", "s"), 20: ("participants[]", "s"),
          21: ("decisions[]", DECISION), 22: ("capacity_note", "s"), 23: ("total_quota", "u"), 24: ("count", "u")}
DRAW_REPLY = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"), 4: ("record", RECORD),
              5: ("draw_nos[]", "u")}
POPULATION_PAGE = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"), 4: ("lines", "b"),
                   5: ("next", "s")}
CONFIRM_REPLY = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"),
                 4: ("accepted[]", DECISION), 5: ("replacements[]", REPLACEMENT), 6: ("rejected_reasons[]", "s"),
                 7: ("pending", "u")}
SAMPLER_EVENT = {1: ("header", ENVELOPE), 2: ("kind", "u"), 3: ("record", RECORD), 4: ("uscc[]", "s"),
                 5: ("reason", "s"), 6: ("part", "u"), 7: ("parts", "u")}


def _conv(v, typ):
    if isinstance(typ, dict):
        return decode_msg(v, typ)
    if typ == "s":
        return v.decode("utf-8")
    if typ == "b":
        return bytes(v)
    if typ == "?":
        return bool(v)
    if typ == "i":
        return v - (1 << 64) if v >= (1 << 63) else v
    return v


def decode_msg(buf, schema):
    out = {}
    for num, vals in decode(buf).items():
        if num not in schema:
            continue
        name, typ = schema[num]
        if name.endswith("[]"):
            out[name[:-2]] = [_conv(v, typ) for v in vals]
        else:
            out[name] = _conv(vals[-1], typ)
    for num, (name, typ) in schema.items():
        if name.endswith("[]"):
            out.setdefault(name[:-2], [])
    return out
