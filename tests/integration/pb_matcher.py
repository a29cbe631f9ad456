"""pb_matcher.py — hand-written protobuf encoders/decoders for the matcher contract
(proto/drip/matcher.proto) and the DRAW_SETTLED SamplerEvent the tests play the sampler with;
written from the .proto files with the wire format of pb.py, independent of the generated C code."""
from pb import f_bytes, f_varint
from pb_sampler import ENVELOPE, decode_msg, _s, _v, _rs  # noqa: F401  (decode_msg re-exported)

# enums
LOCAL, PARENT, NEIGHBOUR, DIRECT = 1, 2, 3, 4
MEMBER, EXPERT = 1, 2
RECUSED, ROTATION = 1, 2
FORM_DISPATCHED, INSPECTOR_ASSIGNED, TASK_MATCHED, SLOTS_UNSTAFFED = 1, 2, 3, 4
DRAW_SETTLED, CONFIRMED, REJECTED = 5, 2, 3

FORM_INSPECTOR = {1: ("inspector", "s"), 2: ("name", "s"), 3: ("role", "u"), 4: ("source", "u"), 5: ("team", "s"),
                  6: ("ticket", "s"), 7: ("load", "u"), 8: ("reason", "s"), 9: ("assigned_by", "s"),
                  10: ("assigned_at_ms", "i")}
EXCLUSION = {1: ("inspector", "s"), 2: ("reason", "u")}
DEPT_SLOT = {1: ("dept", "s"), 2: ("item_codes[]", "s"), 3: ("methods[]", "u"), 4: ("required", "u"),
             5: ("experts_required", "u"), 6: ("inspectors[]", FORM_INSPECTOR), 7: ("unstaffed", "?"),
             8: ("short_by", "u"), 9: ("experts_short", "?"), 10: ("exclusions[]", EXCLUSION), 11: ("teams", "?")}
FORM = {1: ("task_code", "s"), 2: ("plan_code", "s"), 3: ("uscc", "s"), 4: ("target_name", "s"),
        5: ("target_region", "s"), 6: ("seq", "u"), 7: ("target_ticket", "s"), 8: ("depts[]", DEPT_SLOT),
        9: ("window_start", "s"), 10: ("window_end", "s"), 11: ("result_workdays", "u"),
        12: ("result_due_latest", "s"), 13: ("version", "u"), 14: ("lead_dept", "s")}
DEPT_POOL = {1: ("dept", "s"), 2: ("required", "u"), 3: ("experts_required", "u"), 4: ("teams", "?"),
             5: ("cap", "u"), 6: ("expert_cap", "u"), 7: ("tier_depts[]", "s"), 8: ("tier_sizes[]", "u"),
             9: ("required_tags[]", "s"), 10: ("inspectors", "u"), 11: ("inactive", "u"), 12: ("cert_expired", "u"),
             13: ("unqualified", "u"), 14: ("note", "s")}
RUN = {1: ("task_code", "s"), 2: ("plan_code", "s"), 3: ("draw_no", "u"), 4: ("algorithm", "s"), 5: ("seed", "s"),
       6: ("pool_digest", "s"), 7: ("pool_lines", "u"), 8: ("forms", "u"), 9: ("depts[]", DEPT_POOL),
       10: ("matched_at_ms", "i"), 11: ("inspectors_per_check", "u"), 12: ("lead_dept", "s"),
       13: ("unstaffed_slots", "u"), 14: ("direct_assignments", "u")}
MATCH_REPLY = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"), 4: ("run", RUN),
               5: ("forms[]", FORM), 6: ("next_offset", "u")}
POOL_PAGE = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"), 4: ("lines", "b"),
             5: ("next", "s")}
DEPT_REPORT = {1: ("pool", DEPT_POOL), 2: ("load_min", "u"), 3: ("load_median", "u"), 4: ("load_max", "u"),
               5: ("recused", "u"), 6: ("rotation", "u"), 7: ("from_parent", "u"), 8: ("from_neighbours", "u"),
               9: ("direct", "u"), 10: ("unstaffed_slots", "u"), 11: ("experts_short", "u"), 12: ("pairs", "u"),
               13: ("repeated_pairs", "u"), 14: ("max_pair_count", "u"), 15: ("unstaffed_forms[]", "s")}
MATCH_REPORT = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"), 4: ("run", RUN),
                5: ("depts[]", DEPT_REPORT)}
ASSIGN_REPLY = {1: ("header", ENVELOPE), 2: ("error", "u"), 3: ("error_message", "s"), 4: ("form", FORM),
                5: ("replayed", "?")}
ASSIGNMENT = {1: ("inspector", "s"), 2: ("name", "s"), 3: ("uscc[]", "s"), 4: ("roles[]", "u"),
              5: ("window_start", "s"), 6: ("window_end", "s")}
MATCHER_EVENT = {1: ("header", ENVELOPE), 2: ("kind", "u"), 3: ("task_code", "s"), 4: ("plan_code", "s"),
                 5: ("form", FORM), 6: ("assignment", ASSIGNMENT), 7: ("run", RUN), 8: ("dept", "s"),
                 9: ("uscc[]", "s")}


def match_query(header, task_code, plan_code=None, uscc=None, offset=None, limit=None, after=None):
    return (f_bytes(1, header) + _s(2, task_code) + _s(3, plan_code) + _s(4, uscc) + _v(5, offset)
            + _v(6, limit) + _s(7, after))


def assign_request(header, task_code, uscc, inspectors, reason, plan_code=None, dept=None):
    return (f_bytes(1, header) + _s(2, task_code) + _s(3, plan_code) + _s(4, uscc) + _s(5, dept)
            + _rs(6, inspectors) + _s(7, reason))


def settled_event(header, task_code, plan_code, seed, participants, confirmed, rejected=(), draw_no=1,
                  part=1, parts=1):
    """A DRAW_SETTLED SamplerEvent (part `part` of `parts`) whose record lists `confirmed` targets
    (state CONFIRMED) and `rejected` ones (state REJECTED)."""
    sel = b"".join(f_bytes(14, f_bytes(1, u) + f_bytes(2, "-") + f_varint(6, CONFIRMED)) for u in confirmed)
    sel += b"".join(f_bytes(14, f_bytes(1, u) + f_bytes(2, "-") + f_varint(6, REJECTED)) for u in rejected)
    rec = (f_bytes(1, task_code) + f_bytes(2, plan_code) + f_varint(3, draw_no) + f_bytes(4, "drip-draw-v1")
           + f_bytes(13, seed) + sel + _rs(20, participants))
    return f_bytes(1, header) + f_varint(2, DRAW_SETTLED) + f_bytes(3, rec) + f_varint(6, part) + f_varint(7, parts)
