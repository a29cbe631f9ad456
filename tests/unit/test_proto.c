/* Codec round trips of the public contract, envelope checks and the subject scheme. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drip/registry.pb-c.h"
#include "envelope.h"
#include "status.h"
#include "subject.h"

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len);
    protobuf_c_message_pack(m, p);
    return p;
}

static void test_batch_round_trip(void **state)
{
    (void)state;
    Drip__Envelope hdr;
    envelope_fill(&hdr, "id-1", NULL, "130102SCJ", "130102");
    Drip__Target t = DRIP__TARGET__INIT;
    t.has_kind = 1;
    t.kind = DRIP__TARGET_KIND__ENTERPRISE;
    t.uscc = "91330100716105852F";
    t.name = "杭州某某有限公司";
    t.region = "130102";
    t.has_registered_capital = 1;
    t.registered_capital = 5000000;
    t.established = "2020-02-29";
    t.has_status = 1;
    t.status = DRIP__TARGET_STATUS__EXISTING;
    t.has_credit_class = 1;
    t.credit_class = DRIP__CREDIT_CLASS__CLASS_C;
    char *tags[2] = {"食品经营", "网络交易"};
    t.n_tags = 2;
    t.tags = tags;
    Drip__Target *targets[1] = {&t};
    Drip__RegistryBatch b = DRIP__REGISTRY_BATCH__INIT;
    b.header = &hdr;
    b.n_targets = 1;
    b.targets = targets;
    size_t len;
    uint8_t *buf = pack(&b.base, &len);
    Drip__RegistryBatch *d = drip__registry_batch__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_string_equal(d->header->msg_id, "id-1");
    assert_string_equal(d->header->dept, "130102SCJ");
    assert_int_equal(d->header->schema_version, 1);
    assert_int_equal(d->n_targets, 1);
    assert_string_equal(d->targets[0]->uscc, "91330100716105852F");
    assert_string_equal(d->targets[0]->name, "杭州某某有限公司");
    assert_int_equal(d->targets[0]->registered_capital, 5000000);
    assert_int_equal(d->targets[0]->credit_class, DRIP__CREDIT_CLASS__CLASS_C);
    assert_int_equal(d->targets[0]->n_tags, 2);
    assert_string_equal(d->targets[0]->tags[1], "网络交易");
    assert_false(d->targets[0]->has_ownership); /* absent stays absent */
    /* identical input packs to identical bytes: the registry's digest relies on it */
    size_t len2;
    uint8_t *buf2 = pack(&d->targets[0]->base, &len2);
    size_t len3;
    uint8_t *buf3 = pack(&t.base, &len3);
    assert_int_equal(len2, len3);
    assert_memory_equal(buf2, buf3, len2);
    free(buf2);
    free(buf3);
    drip__registry_batch__free_unpacked(d, NULL);
    free(buf);
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    Drip__RecordResult r = DRIP__RECORD_RESULT__INIT;
    r.has_index = 1;
    r.index = 7;
    r.key = "91330100716105852F";
    r.has_outcome = 1;
    r.outcome = DRIP__OUTCOME__REJECTED;
    r.has_error = 1;
    r.error = DRIP__ERROR_CODE__ERR_BAD_USCC;
    r.reason = "uscc: check digit";
    Drip__RecordResult *rs[1] = {&r};
    Drip__BatchReply rep = DRIP__BATCH_REPLY__INIT;
    rep.n_results = 1;
    rep.results = rs;
    rep.has_rejected = 1;
    rep.rejected = 1;
    size_t len;
    uint8_t *buf = pack(&rep.base, &len);
    Drip__BatchReply *d = drip__batch_reply__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_int_equal(d->results[0]->index, 7);
    assert_int_equal(d->results[0]->error, DRIP__ERROR_CODE__ERR_BAD_USCC);
    assert_int_equal(d->rejected, 1);
    drip__batch_reply__free_unpacked(d, NULL);
    /* error replies of every query type share fields 1-3: a CountReply decodes as a GetReply */
    Drip__CountReply c = DRIP__COUNT_REPLY__INIT;
    c.has_error = 1;
    c.error = DRIP__ERROR_CODE__ERR_TOO_LARGE;
    c.error_message = "too big";
    free(buf);
    buf = pack(&c.base, &len);
    Drip__GetReply *g = drip__get_reply__unpack(NULL, len, buf);
    assert_non_null(g);
    assert_int_equal(g->error, DRIP__ERROR_CODE__ERR_TOO_LARGE);
    assert_string_equal(g->error_message, "too big");
    drip__get_reply__free_unpacked(g, NULL);
    free(buf);
}

static void test_garbage_does_not_decode(void **state)
{
    (void)state;
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(0xff - i);
    assert_null(drip__registry_batch__unpack(NULL, sizeof junk, junk));
    /* a length prefix pointing past the end */
    uint8_t trunc[] = {0x0a, 0x7f, 0x01};
    assert_null(drip__registry_batch__unpack(NULL, sizeof trunc, trunc));
}

static void test_envelope_check(void **state)
{
    (void)state;
    char why[160];
    Drip__Envelope e;
    envelope_fill(&e, "abc", NULL, "130102SCJ", "130102");
    assert_int_equal(envelope_check(&e, "130102SCJ", "130102", why, sizeof why), DRIP_OK);
    assert_int_equal(envelope_check(&e, "130534SCJ", "130102", why, sizeof why), DRIP_EENVELOPE);
    assert_non_null(strstr(why, "header.dept"));
    assert_int_equal(envelope_check(&e, "130102SCJ", "130534", why, sizeof why), DRIP_EENVELOPE);
    assert_non_null(strstr(why, "header.region"));
    assert_int_equal(envelope_check(NULL, "130102SCJ", "130102", why, sizeof why), DRIP_EENVELOPE);
    e.msg_id = "";
    assert_int_equal(envelope_check(&e, "130102SCJ", "130102", why, sizeof why), DRIP_EENVELOPE);
    e.msg_id = "has space";
    assert_int_equal(envelope_check(&e, "130102SCJ", "130102", why, sizeof why), DRIP_EENVELOPE);
    e.msg_id = "x";
    e.schema_version = 9;
    assert_int_equal(envelope_check(&e, "130102SCJ", "130102", why, sizeof why), DRIP_EENVELOPE);
    char id1[37], id2[37];
    envelope_new_id(id1);
    envelope_new_id(id2);
    assert_int_equal(strlen(id1), 36);
    assert_string_not_equal(id1, id2);
    assert_int_equal(id1[14], '4');
}

static void test_subject_scheme(void **state)
{
    (void)state;
    char s[SUBJECT_MAX];
    assert_int_equal(subject_build(s, sizeof s, "drip", "reg.cmd", "130110", "130110SCJ", "target"),
                     DRIP_OK);
    assert_string_equal(s, "drip.reg.cmd.13.01.10.130110SCJ.target");
    subject_parts p;
    assert_int_equal(subject_parse(s, 3, &p), DRIP_OK);
    assert_string_equal(p.region, "130110");
    assert_string_equal(p.dept, "130110SCJ");
    assert_string_equal(p.last, "target");
    assert_int_equal(subject_parse("drip.reg.cmd.13.01.130110SCJ.target", 3, &p), DRIP_EENVELOPE);
    assert_int_equal(subject_parse("drip.reg.cmd.1x.01.10.D.target", 3, &p), DRIP_EENVELOPE);
    assert_int_equal(subject_build(s, sizeof s, "drip", "reg.cmd", "1301", "D", "t"), DRIP_EVALUE);
    assert_int_equal(subject_build(s, sizeof s, "drip", "reg.cmd", "130110", "A.B", "t"), DRIP_EVALUE);
    assert_int_equal(subject_build(s, sizeof s, "drip", "reg.cmd", "130110", "*", "t"), DRIP_EVALUE);
    subject_stream_name(s, sizeof s, "t1a2", "registry");
    assert_string_equal(s, "T1A2_REGISTRY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_round_trip),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_garbage_does_not_decode),
        cmocka_unit_test(test_envelope_check),
        cmocka_unit_test(test_subject_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
