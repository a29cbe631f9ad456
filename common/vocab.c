#include "vocab.h"

#include <stddef.h>
#include <string.h>

#include "drip/registry.pb-c.h"
#include "status.h"

typedef struct {
    const char *word;
    int value;
} vocab_word;

typedef struct {
    const char *name;     /* proto enum name */
    const vocab_word *words; /* canonical word of a value = its first entry */
    size_t n;
    const char *describe; /* kept in step with `words` by tests/unit/test_vocab.c */
} vocab_def;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const vocab_word record_kind[] = {
    {"target", DRIP__RECORD_KIND__KIND_TARGET},
    {"enterprise", DRIP__RECORD_KIND__KIND_TARGET},
    {"inspector", DRIP__RECORD_KIND__KIND_INSPECTOR},
    {"item", DRIP__RECORD_KIND__KIND_ITEM},
    {"department", DRIP__RECORD_KIND__KIND_DEPARTMENT},
    {"region", DRIP__RECORD_KIND__KIND_REGION},
    {"calendar", DRIP__RECORD_KIND__KIND_CALENDAR},
    {"KIND_TARGET", DRIP__RECORD_KIND__KIND_TARGET},
    {"KIND_INSPECTOR", DRIP__RECORD_KIND__KIND_INSPECTOR},
    {"KIND_ITEM", DRIP__RECORD_KIND__KIND_ITEM},
    {"KIND_DEPARTMENT", DRIP__RECORD_KIND__KIND_DEPARTMENT},
    {"KIND_REGION", DRIP__RECORD_KIND__KIND_REGION},
    {"KIND_CALENDAR", DRIP__RECORD_KIND__KIND_CALENDAR},
};

static const vocab_word region_level[] = {
    {"province", DRIP__REGION_LEVEL__PROVINCE},
    {"省级", DRIP__REGION_LEVEL__PROVINCE},
    {"city", DRIP__REGION_LEVEL__CITY},
    {"市级", DRIP__REGION_LEVEL__CITY},
    {"county", DRIP__REGION_LEVEL__COUNTY},
    {"县级", DRIP__REGION_LEVEL__COUNTY},
};

static const vocab_word target_kind[] = {
    {"enterprise", DRIP__TARGET_KIND__ENTERPRISE},
    {"企业", DRIP__TARGET_KIND__ENTERPRISE},
    {"individual", DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS},
    {"个体工商户", DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS},
    {"个体", DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS},
    {"individual_business", DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS},
    {"cooperative", DRIP__TARGET_KIND__COOPERATIVE},
    {"农民专业合作社", DRIP__TARGET_KIND__COOPERATIVE},
    {"合作社", DRIP__TARGET_KIND__COOPERATIVE},
    {"project", DRIP__TARGET_KIND__CONSTRUCTION_PROJECT},
    {"生产建设项目", DRIP__TARGET_KIND__CONSTRUCTION_PROJECT},
    {"construction_project", DRIP__TARGET_KIND__CONSTRUCTION_PROJECT},
};

static const vocab_word ownership[] = {
    {"domestic", DRIP__OWNERSHIP__DOMESTIC},
    {"内资", DRIP__OWNERSHIP__DOMESTIC},
    {"foreign", DRIP__OWNERSHIP__FOREIGN},
    {"外资", DRIP__OWNERSHIP__FOREIGN},
    {"外商投资", DRIP__OWNERSHIP__FOREIGN},
    {"hmt", DRIP__OWNERSHIP__HK_MACAO_TAIWAN},
    {"港澳台", DRIP__OWNERSHIP__HK_MACAO_TAIWAN},
    {"港澳台投资", DRIP__OWNERSHIP__HK_MACAO_TAIWAN},
    {"hk_macao_taiwan", DRIP__OWNERSHIP__HK_MACAO_TAIWAN},
    {"other", DRIP__OWNERSHIP__OWNERSHIP_OTHER},
    {"其他", DRIP__OWNERSHIP__OWNERSHIP_OTHER},
    {"ownership_other", DRIP__OWNERSHIP__OWNERSHIP_OTHER},
};

static const vocab_word target_status[] = {
    {"存续", DRIP__TARGET_STATUS__EXISTING},
    {"existing", DRIP__TARGET_STATUS__EXISTING},
    {"在业", DRIP__TARGET_STATUS__OPERATING},
    {"operating", DRIP__TARGET_STATUS__OPERATING},
    {"吊销", DRIP__TARGET_STATUS__REVOKED},
    {"revoked", DRIP__TARGET_STATUS__REVOKED},
    {"注销", DRIP__TARGET_STATUS__DEREGISTERED},
    {"deregistered", DRIP__TARGET_STATUS__DEREGISTERED},
    {"迁出", DRIP__TARGET_STATUS__MOVED_OUT},
    {"moved_out", DRIP__TARGET_STATUS__MOVED_OUT},
    {"撤销", DRIP__TARGET_STATUS__ANNULLED},
    {"annulled", DRIP__TARGET_STATUS__ANNULLED},
    {"停业", DRIP__TARGET_STATUS__SUSPENDED},
    {"suspended", DRIP__TARGET_STATUS__SUSPENDED},
    {"清算", DRIP__TARGET_STATUS__LIQUIDATING},
    {"liquidating", DRIP__TARGET_STATUS__LIQUIDATING},
};

static const vocab_word credit_class[] = {
    {"", DRIP__CREDIT_CLASS__CREDIT_CLASS_UNSPECIFIED},
    {"A", DRIP__CREDIT_CLASS__CLASS_A},
    {"B", DRIP__CREDIT_CLASS__CLASS_B},
    {"C", DRIP__CREDIT_CLASS__CLASS_C},
    {"D", DRIP__CREDIT_CLASS__CLASS_D},
    {"class_a", DRIP__CREDIT_CLASS__CLASS_A},
    {"class_b", DRIP__CREDIT_CLASS__CLASS_B},
    {"class_c", DRIP__CREDIT_CLASS__CLASS_C},
    {"class_d", DRIP__CREDIT_CLASS__CLASS_D},
};

static const vocab_word item_level[] = {
    {"一般", DRIP__ITEM_LEVEL__GENERAL},
    {"general", DRIP__ITEM_LEVEL__GENERAL},
    {"一般检查事项", DRIP__ITEM_LEVEL__GENERAL},
    {"重点", DRIP__ITEM_LEVEL__KEY},
    {"key", DRIP__ITEM_LEVEL__KEY},
    {"重点检查事项", DRIP__ITEM_LEVEL__KEY},
};

static const vocab_word method[] = {
    {"现场检查", DRIP__METHOD__ON_SITE},
    {"on_site", DRIP__METHOD__ON_SITE},
    {"书面检查", DRIP__METHOD__DOCUMENTARY},
    {"documentary", DRIP__METHOD__DOCUMENTARY},
    {"网络检查", DRIP__METHOD__ONLINE},
    {"online", DRIP__METHOD__ONLINE},
    {"抽样检验", DRIP__METHOD__SAMPLING},
    {"sampling", DRIP__METHOD__SAMPLING},
    {"委托专业机构核查", DRIP__METHOD__EXPERT_AGENCY},
    {"expert_agency", DRIP__METHOD__EXPERT_AGENCY},
    {"信息比对", DRIP__METHOD__INFO_COMPARISON},
    {"info_comparison", DRIP__METHOD__INFO_COMPARISON},
    {"实地核查", DRIP__METHOD__FIELD_VERIFICATION},
    {"field_verification", DRIP__METHOD__FIELD_VERIFICATION},
};

static const vocab_word day_kind[] = {
    {"off", DRIP__DAY_KIND__DAY_OFF},
    {"休", DRIP__DAY_KIND__DAY_OFF},
    {"day_off", DRIP__DAY_KIND__DAY_OFF},
    {"workday", DRIP__DAY_KIND__DAY_WORKDAY},
    {"班", DRIP__DAY_KIND__DAY_WORKDAY},
    {"day_workday", DRIP__DAY_KIND__DAY_WORKDAY},
};

static const vocab_word outcome[] = {
    {"created", DRIP__OUTCOME__CREATED},     {"updated", DRIP__OUTCOME__UPDATED},
    {"unchanged", DRIP__OUTCOME__UNCHANGED}, {"retired", DRIP__OUTCOME__RETIRED},
    {"rejected", DRIP__OUTCOME__REJECTED},
};

/* Indexed by vocab_table. The describe strings omit the proto names (accepted, but noise). */
static const vocab_def defs[VOCAB_TABLE_COUNT] = {
    [VOCAB_RECORD_KIND] = {"RecordKind", record_kind, N(record_kind),
                           "target|enterprise, inspector, item, department, region, calendar"},
    [VOCAB_REGION_LEVEL] = {"RegionLevel", region_level, N(region_level),
                            "province|省级, city|市级, county|县级"},
    [VOCAB_TARGET_KIND] = {"TargetKind", target_kind, N(target_kind),
                           "enterprise|企业, individual|个体工商户|个体, "
                           "cooperative|农民专业合作社|合作社, project|生产建设项目"},
    [VOCAB_OWNERSHIP] = {"Ownership", ownership, N(ownership),
                         "domestic|内资, foreign|外资|外商投资, hmt|港澳台|港澳台投资, other|其他"},
    [VOCAB_TARGET_STATUS] = {"TargetStatus", target_status, N(target_status),
                             "存续|existing, 在业|operating, 吊销|revoked, 注销|deregistered, "
                             "迁出|moved_out, 撤销|annulled, 停业|suspended, 清算|liquidating"},
    [VOCAB_CREDIT_CLASS] = {"CreditClass", credit_class, N(credit_class),
                            "A, B, C, D, or empty for not yet classified"},
    [VOCAB_ITEM_LEVEL] = {"ItemLevel", item_level, N(item_level),
                          "一般|general|一般检查事项, 重点|key|重点检查事项"},
    [VOCAB_METHOD] = {"Method", method, N(method),
                      "现场检查|on_site, 书面检查|documentary, 网络检查|online, 抽样检验|sampling, "
                      "委托专业机构核查|expert_agency, 信息比对|info_comparison, "
                      "实地核查|field_verification"},
    [VOCAB_DAY_KIND] = {"DayKind", day_kind, N(day_kind), "off|休, workday|班"},
    [VOCAB_OUTCOME] = {"Outcome", outcome, N(outcome),
                       "created, updated, unchanged, retired, rejected"},
};

static const vocab_def *def_of(vocab_table t)
{
    return ((int)t >= 0 && t < VOCAB_TABLE_COUNT) ? &defs[t] : NULL;
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Length of the white space at s: ASCII space/tab/CR/LF, or U+3000 (E3 80 80); 0 if none. */
static size_t space_len(const char *s)
{
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') return 1;
    if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80)
        return 3;
    return 0;
}

/* Case-insensitive for ASCII only (not locale-dependent strcasecmp): compares the n bytes of
 * `a` with the whole of `b`. */
static int word_equal(const char *a, size_t n, const char *b)
{
    size_t i = 0;
    for (; i < n && b[i]; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return 0;
    return i == n && b[i] == '\0';
}

int vocab_parse(vocab_table t, const char *word, int *value)
{
    const vocab_def *d = def_of(t);
    if (!d) return DRIP_EENUM;
    if (!word) word = "";
    size_t k;
    while ((k = space_len(word)) > 0) word += k;
    size_t n = strlen(word);
    /* trailing white space: walk back over ASCII blanks and U+3000 */
    for (;;) {
        if (n >= 1 && space_len(word + n - 1) == 1) {
            n--;
        } else if (n >= 3 && space_len(word + n - 3) == 3) {
            n -= 3;
        } else {
            break;
        }
    }
    for (size_t i = 0; i < d->n; i++) {
        if (word_equal(word, n, d->words[i].word)) {
            *value = d->words[i].value;
            return DRIP_OK;
        }
    }
    return DRIP_EENUM;
}

const char *vocab_name(vocab_table t, int value)
{
    const vocab_def *d = def_of(t);
    if (!d) return NULL;
    for (size_t i = 0; i < d->n; i++)
        if (d->words[i].value == value) return d->words[i].word;
    return NULL;
}

const char *vocab_describe(vocab_table t)
{
    const vocab_def *d = def_of(t);
    return d ? d->describe : "";
}

const char *vocab_table_name(vocab_table t)
{
    const vocab_def *d = def_of(t);
    return d ? d->name : "unknown";
}
