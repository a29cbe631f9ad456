"""pb_planner.py — hand-written protobuf encoders/decoders for the planner contract
(proto/drip/planner.proto, registry.proto TargetFilter, sampler.proto SamplerEvent), on top of pb.py's
independent wire-format code. Field numbers are copied from the .proto files on purpose: a renumbering
there breaks these tests instead of passing silently."""
import pb

# enums (planner.proto / registry.proto)
JOINT, INTERNAL = 1, 2
DRAFT, PUBLISHED, DRAWN, CONFIRMING, MATCHED, IN_PROGRESS, CLOSED, CANCELLED = range(1, 9)
STATE_NAMES = {0: "UNSPECIFIED", 1: "DRAFT", 2: "PUBLISHED", 3: "DRAWN", 4: "CONFIRMING", 5: "MATCHED",
               6: "IN_PROGRESS", 7: "CLOSED", 8: "CANCELLED"}
ENTERPRISE, INDIVIDUAL_BUSINESS, COOPERATIVE, CONSTRUCTION_PROJECT = 1, 2, 3, 4
EXISTING, OPERATING = 1, 2
DOMESTIC = 1
CLASS_A, CLASS_B, CLASS_C, CLASS_D = 1, 2, 3, 4
(PLAN_CREATED, PLAN_PUBLISHED, PLAN_ADJUSTED, TASK_CREATED, TASK_PUBLISHED, TASK_ADJUSTED, TASK_CANCELLED,
 TASK_DRAW_ORDERED, TASK_STATE) = range(1, 10)
# sampler.proto SamplerEventKind
DRAW_COMPLETED, DRAW_SETTLED, DRAW_REFUSED = 2, 5, 7

# common.proto ErrorCode
OK, ERR_INTERNAL, ERR_BAD_MESSAGE, ERR_TOO_LARGE, ERR_MISSING_FIELD = 0, 1, 2, 3, 4
ERR_BAD_REGION, ERR_BAD_DATE, ERR_BAD_ENUM, ERR_BAD_VALUE, ERR_UNKNOWN_DEPT = 6, 7, 8, 9, 10
ERR_FORBIDDEN, ERR_NOT_FOUND, ERR_CONFLICT, ERR_BAD_ENVELOPE, ERR_UNKNOWN_REFERENCE = 11, 12, 13, 14, 15


def _opt(num, v, enc):
    return b"" if v is None else enc(num, v)


def _bool(num, v):
    return pb.f_varint(num, 1 if v else 0)


def _rep_str(num, vs):
    return b"".join(pb.f_bytes(num, v) for v in vs)


def _rep_enum(num, vs):
    return b"".join(pb.f_varint(num, v) for v in vs)


def dept_items(dept, codes):
    return pb.f_bytes(1, dept) + _rep_str(2, codes)


def class_ratio(credit_class, ppm):
    return pb.f_varint(1, credit_class) + pb.f_varint(2, ppm)


def target_filter(regions=(), kinds=(), statuses=(), credit_classes=(), ownerships=(), capital_min=None,
                  capital_max=None, established_before=None, established_after=None, industries=(),
                  tags_all=(), owner=None):
    return (_rep_str(1, regions) + _rep_enum(2, kinds) + _rep_enum(3, statuses) + _rep_enum(4, credit_classes)
            + _rep_enum(5, ownerships) + _opt(6, capital_min, pb.f_varint) + _opt(7, capital_max, pb.f_varint)
            + _opt(8, established_before, pb.f_bytes) + _opt(9, established_after, pb.f_bytes)
            + _rep_str(10, industries) + _rep_str(11, tags_all) + _opt(12, owner, pb.f_bytes))


def task(code=None, name=None, kind=None, targeted=None, lead_dept=None, cooperating_depts=(), items=(),
         target_kind=None, scope=None, ratio_ppm=None, class_ratios=(), count=None, stratify=None,
         inspectors_per_check=None, confirm_workdays=None, result_workdays=None, window_start=None,
         window_end=None, exclude_inspected_days=None, max_inspections_per_year=None, cap_exempt_classes=()):
    """Task; `items` is a list of (dept, [codes]), `scope` an encoded TargetFilter, `class_ratios` a list
    of (class, ppm)."""
    return (_opt(1, code, pb.f_bytes) + _opt(2, name, pb.f_bytes) + _opt(3, kind, pb.f_varint)
            + _opt(4, targeted, _bool) + _opt(5, lead_dept, pb.f_bytes) + _rep_str(6, cooperating_depts)
            + b"".join(pb.f_bytes(7, dept_items(d, c)) for d, c in items)
            + _opt(8, target_kind, pb.f_varint) + _opt(9, scope, pb.f_bytes) + _opt(10, ratio_ppm, pb.f_varint)
            + b"".join(pb.f_bytes(11, class_ratio(c, p)) for c, p in class_ratios)
            + _opt(12, count, pb.f_varint) + _opt(13, stratify, _bool)
            + _opt(14, inspectors_per_check, pb.f_varint) + _opt(15, confirm_workdays, pb.f_varint)
            + _opt(16, result_workdays, pb.f_varint) + _opt(17, window_start, pb.f_bytes)
            + _opt(18, window_end, pb.f_bytes) + _opt(19, exclude_inspected_days, pb.f_varint)
            + _opt(20, max_inspections_per_year, pb.f_varint) + _rep_enum(21, cap_exempt_classes))


def plan(year=None, kind=None, note=None):
    return _opt(3, year, pb.f_varint) + _opt(5, kind, pb.f_varint) + _opt(11, note, pb.f_bytes)


def plan_command(header, plan=None, task=None, plan_code=None, task_code=None, reason=None, entropy=None,
                 entropy_source=None, redraw=None, force=None):
    return (pb.f_bytes(1, header) + _opt(2, plan, pb.f_bytes) + _opt(3, task, pb.f_bytes)
            + _opt(4, plan_code, pb.f_bytes) + _opt(5, task_code, pb.f_bytes) + _opt(6, reason, pb.f_bytes)
            + _opt(7, entropy, pb.f_bytes) + _opt(8, entropy_source, pb.f_bytes)
            + _opt(9, redraw, _bool) + _opt(10, force, _bool))


def sampler_event(kind, task_code, plan_code, draw_no=1, reason=None, msg_id="s-1", dept="SAMPLER",
                  region="000000"):
    record = pb.f_bytes(1, task_code) + pb.f_bytes(2, plan_code) + pb.f_varint(3, draw_no)
    return (pb.f_bytes(1, pb.envelope(msg_id, dept, region)) + pb.f_varint(2, kind) + pb.f_bytes(3, record)
            + _opt(5, reason, pb.f_bytes))


# ---- decoding -----------------------------------------------------------------------------------------------
def _s(d, n, default=""):
    v = d.get(n)
    return v[-1].decode("utf-8") if v else default


def _i(d, n, default=0):
    v = d.get(n)
    return v[-1] if v else default


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def decode_filter(buf):
    d = pb.decode(buf)
    return {"regions": [x.decode() for x in d.get(1, [])], "kinds": d.get(2, []), "statuses": d.get(3, []),
            "credit_classes": d.get(4, []), "ownerships": d.get(5, []),
            "capital_min": _signed(d[6][-1]) if 6 in d else None,
            "capital_max": _signed(d[7][-1]) if 7 in d else None,
            "established_before": _s(d, 8, None), "established_after": _s(d, 9, None),
            "industries": [x.decode() for x in d.get(10, [])], "tags_all": [x.decode() for x in d.get(11, [])],
            "owner": _s(d, 12, None)}


def decode_task(buf):
    d = pb.decode(buf)
    items = []
    for raw in d.get(7, []):
        x = pb.decode(raw)
        items.append((_s(x, 1), [c.decode() for c in x.get(2, [])]))
    return {"code": _s(d, 1), "name": _s(d, 2), "kind": _i(d, 3), "targeted": bool(_i(d, 4)),
            "lead_dept": _s(d, 5), "cooperating_depts": [x.decode() for x in d.get(6, [])], "items": items,
            "target_kind": _i(d, 8), "scope": decode_filter(d[9][-1]) if 9 in d else None,
            "ratio_ppm": _i(d, 10, None), "count": _i(d, 12, None), "stratify": _i(d, 13, None),
            "inspectors_per_check": _i(d, 14), "confirm_workdays": _i(d, 15), "result_workdays": _i(d, 16),
            "window_start": _s(d, 17), "window_end": _s(d, 18), "state": _i(d, 30), "commitment": _s(d, 31),
            "version": _i(d, 32), "plan_code": _s(d, 33), "fields": sorted(d)}


def decode_plan(buf):
    d = pb.decode(buf)
    return {"code": _s(d, 1), "name": _s(d, 2), "year": _i(d, 3), "region": _s(d, 4), "kind": _i(d, 5),
            "owner": _s(d, 6), "seq": _i(d, 7), "published": bool(_i(d, 8)), "version": _i(d, 9),
            "tasks": [decode_task(t) for t in d.get(10, [])], "note": _s(d, 11)}


def decode_reply(buf):
    """PlanReply as a dict: error, message, plan, task, correlation_id."""
    d = pb.decode(buf)
    hdr = pb.decode(d[1][-1]) if 1 in d else {}
    return {"error": _i(d, 2), "message": _s(d, 3), "plan": decode_plan(d[4][-1]) if 4 in d else None,
            "task": decode_task(d[5][-1]) if 5 in d else None, "correlation_id": _s(hdr, 2)}


def decode_event(buf):
    """PlannerEvent as a dict."""
    d = pb.decode(buf)
    hdr = pb.decode(d[1][-1]) if 1 in d else {}
    return {"msg_id": _s(hdr, 1), "correlation_id": _s(hdr, 2), "dept": _s(hdr, 3), "region": _s(hdr, 4),
            "kind": _i(d, 2), "plan": decode_plan(d[3][-1]) if 3 in d else None,
            "task": decode_task(d[4][-1]) if 4 in d else None, "reason": _s(d, 5, None),
            "nonce": d[6][-1] if 6 in d else None, "entropy": _s(d, 7, None), "entropy_source": _s(d, 8, None),
            "redraw": bool(_i(d, 9)), "force": bool(_i(d, 10)), "at_ms": _i(d, 11)}
