/* vocab.h — the words people type for the enums of proto/drip/registry.proto, and back.
 *
 * One table per enum. Each accepts several words per value (English, Chinese, the proto name), compared
 * case-insensitively for ASCII letters after trimming surrounding white space (ASCII and the
 * full-width space U+3000 that Chinese spreadsheets often carry). vocab_name() gives the canonical
 * word used on output: Chinese for target status, item level and method (the words on the paper
 * forms), English for the others (as in the data/ CSV files).
 *
 *   table                 enum (registry.proto)  accepted words (canonical first)
 *   VOCAB_RECORD_KIND     RecordKind     target|enterprise, inspector, item, department, region, calendar
 *   VOCAB_REGION_LEVEL    RegionLevel    province|省级, city|市级, county|县级
 *   VOCAB_TARGET_KIND     TargetKind     enterprise|企业, individual|个体工商户|个体, cooperative|
 *                                        农民专业合作社|合作社, project|生产建设项目
 *   VOCAB_OWNERSHIP       Ownership      domestic|内资, foreign|外资|外商投资, hmt|港澳台|港澳台投资,
 *                                        other|其他
 *   VOCAB_TARGET_STATUS   TargetStatus   存续|existing, 在业|operating, 吊销|revoked, 注销|deregistered,
 *                                        迁出|moved_out, 撤销|annulled, 停业|suspended, 清算|liquidating
 *   VOCAB_CREDIT_CLASS    CreditClass    A, B, C, D; the empty word = unspecified (not yet classified)
 *   VOCAB_ITEM_LEVEL      ItemLevel      一般|general, 重点|key
 *   VOCAB_METHOD          Method         现场检查|on_site, 书面检查|documentary, 网络检查|online,
 *                                        抽样检验|sampling, 委托专业机构核查|expert_agency,
 *                                        信息比对|info_comparison, 实地核查|field_verification
 *   VOCAB_DAY_KIND        DayKind        off|休, workday|班
 *   VOCAB_OUTCOME         Outcome        created, updated, unchanged, retired, rejected
 * The proto enum names (EXISTING, HK_MACAO_TAIWAN, CLASS_A, ...) are accepted too. The *_UNSPECIFIED
 * value (0) has no word, except in VOCAB_CREDIT_CLASS where it is "".
 * Pure data: no state, thread-safe. */
#ifndef DRIP_VOCAB_H
#define DRIP_VOCAB_H

typedef enum {
    VOCAB_RECORD_KIND = 0,
    VOCAB_REGION_LEVEL,
    VOCAB_TARGET_KIND,
    VOCAB_OWNERSHIP,
    VOCAB_TARGET_STATUS,
    VOCAB_CREDIT_CLASS,
    VOCAB_ITEM_LEVEL,
    VOCAB_METHOD,
    VOCAB_DAY_KIND,
    VOCAB_OUTCOME,
    VOCAB_TABLE_COUNT
} vocab_table;

/* Parses `word` (NULL is treated as ""). Returns DRIP_OK and sets *value, or DRIP_EENUM (also for
 * an unknown table). */
int vocab_parse(vocab_table t, const char *word, int *value);

/* Canonical word of `value`, or NULL when the value has none (unknown, or 0 outside CREDIT_CLASS). */
const char *vocab_name(vocab_table t, int value);

/* The accepted words for error messages, e.g. "enterprise|企业, individual|个体工商户|个体, ...".
 * Never NULL. */
const char *vocab_describe(vocab_table t);

/* The proto enum name of the table, e.g. "TargetStatus". Never NULL. */
const char *vocab_table_name(vocab_table t);

#endif
