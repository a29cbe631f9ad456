/* events_cmd.c — `dripctl events dump`: read a service's JetStream event stream. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "drip/registry.pb-c.h"
#include "json.h"
#include "status.h"
#include "vocab.h"

static const char dump_help[] =
    "dripctl events dump [--service registry] [--filter SUBJECT] [--from SEQ] [--count-only]\n"
    "  Reads the stream <PREFIX>_<SERVICE> (e.g. DRIP_REGISTRY) from sequence SEQ (default 1) to\n"
    "  its current end and prints one JSON line per message:\n"
    "    {\"seq\":N,\"subject\":\"...\",\"msg_id\":\"<Nats-Msg-Id>\",\"kind\":\"target\",\n"
    "     \"changes\":[{\"key\":\"...\",\"version\":N,\"retired\":false,\"changed_by\":\"...\"}]}\n"
    "  --filter limits to subjects matching SUBJECT (wildcards allowed, e.g.\n"
    "  drip.evt.registry.13.>). --count-only prints just: messages=N changes=N\n";

void events_cmd_help(FILE *f, const char *verb)
{
    if (!verb || strcmp(verb, "dump") == 0) fputs(dump_help, f);
}

typedef struct {
    int count_only;
    int registry; /* payloads are RegistryEvent */
    unsigned long long messages, changes, undecodable;
} dump_state;

static int dump_one(const bus_msg *m, void *arg)
{
    dump_state *st = arg;
    st->messages++;
    Drip__RegistryEvent *ev = NULL;
    if (st->registry) {
        ev = drip__registry_event__unpack(NULL, bus_msg_size(m), bus_msg_data(m));
        if (ev)
            st->changes += ev->n_changes;
        else
            st->undecodable++;
    }
    if (!st->count_only) {
        json_writer w;
        json_init(&w, stdout, 0);
        json_begin_object(&w);
        json_key(&w, "seq");
        json_uint(&w, bus_msg_stream_seq(m));
        json_key(&w, "subject");
        json_string(&w, bus_msg_subject(m));
        json_key(&w, "msg_id");
        json_string(&w, bus_msg_header(m, "Nats-Msg-Id"));
        if (ev) {
            json_key(&w, "kind");
            const char *k = ev->has_kind ? vocab_name(VOCAB_RECORD_KIND, ev->kind) : NULL;
            if (k)
                json_string(&w, k);
            else if (ev->has_kind)
                json_int(&w, ev->kind);
            else
                json_null(&w);
            json_key(&w, "changes");
            json_begin_array(&w);
            for (size_t i = 0; i < ev->n_changes; i++) {
                const Drip__Change *c = ev->changes[i];
                json_begin_object(&w);
                json_key(&w, "key");
                json_string(&w, c->key);
                json_key(&w, "version");
                json_uint(&w, c->version);
                json_key(&w, "retired");
                json_bool(&w, c->has_retired && c->retired);
                json_key(&w, "changed_by");
                json_string(&w, c->changed_by);
                json_end_object(&w);
            }
            json_end_array(&w);
        } else {
            json_key(&w, "size");
            json_uint(&w, bus_msg_size(m));
            if (st->registry) {
                json_key(&w, "error");
                json_string(&w, "payload is not a RegistryEvent");
            }
        }
        json_end_object(&w);
        json_finish(&w);
    }
    if (ev) drip__registry_event__free_unpacked(ev, NULL);
    return 0;
}

int events_cmd_dump(ctl_ctx *c, int argc, char **argv)
{
    enum { O_SERVICE = 1, O_FILTER, O_FROM, O_COUNT, O_HELP };
    static const struct option opts[] = {{"service", required_argument, NULL, O_SERVICE},
                                         {"filter", required_argument, NULL, O_FILTER},
                                         {"from", required_argument, NULL, O_FROM},
                                         {"count-only", no_argument, NULL, O_COUNT},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    const char *service = "registry", *filter = NULL;
    int64_t from = 1;
    dump_state st = {0};
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_SERVICE: service = optarg; break;
        case O_FILTER: filter = optarg; break;
        case O_FROM:
            if (ctl_parse_int64(optarg, 1, INT64_MAX, &from) != DRIP_OK) {
                fprintf(stderr, "dripctl: --from must be a stream sequence >= 1, not '%s'\n",
                        optarg);
                return CTL_EXIT_USAGE;
            }
            break;
        case O_COUNT: st.count_only = 1; break;
        case O_HELP: events_cmd_help(stdout, "dump"); return CTL_EXIT_OK;
        default:
            fprintf(stderr, "(see: dripctl events dump --help)\n");
            return CTL_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "dripctl: unexpected argument '%s'\n(see: dripctl events dump --help)\n",
                argv[optind]);
        return CTL_EXIT_USAGE;
    }
    st.registry = strcmp(service, "registry") == 0;
    char stream[128];
    subject_stream_name(stream, sizeof stream, c->prefix, service);
    if (ctl_connect(c) != DRIP_OK) return CTL_EXIT_UNREACHABLE;
    int rc = bus_stream_scan(c->bus, stream, filter, (uint64_t)from, dump_one, &st);
    fflush(stdout);
    if (rc == DRIP_ENOTFOUND) {
        fprintf(stderr, "dripctl: no stream %s (has drip-%s run with DRIP_PREFIX '%s'?)\n", stream,
                service, c->prefix);
        return CTL_EXIT_NOT_FOUND;
    }
    if (rc != DRIP_OK) {
        fprintf(stderr, "dripctl: reading stream %s failed (%s): %s\n", stream,
                drip_status_name(rc), bus_last_error(c->bus));
        return CTL_EXIT_UNREACHABLE;
    }
    if (st.count_only) printf("messages=%llu changes=%llu\n", st.messages, st.changes);
    if (st.undecodable)
        fprintf(stderr, "dripctl: %llu messages were not RegistryEvents\n", st.undecodable);
    return CTL_EXIT_OK;
}
