/* orchctl subscription ...: orchestrator.v1.SubscriptionService, the reads (list, get with
 * the block tree, workflows), the operator actions (in-sync, metadata, customer
 * descriptions) and the WatchSubscription stream. */
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#include <grpc/status.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SVC "/orchestrator.v1.SubscriptionService/"

typedef Orchestrator__V1__Subscription sub_t;

static const char *sub_status(int v, char *buf, size_t size)
{
    return cli_enum_name(&orchestrator__v1__subscription_status__descriptor, v, buf, size);
}

static int parse_view(const cli_args_t *args, int *view)
{
    const char *v = cli_args_get(args, "view");
    *view = 0;
    return v ? cli_parse_enum("--view", &orchestrator__v1__subscription_view__descriptor, v, view)
             : 0;
}

/* ---- list ---- */

static const char *const subscription_list_headers[] = {
    "ID", "PRODUCT", "CUSTOMER", "STATUS", "IN SYNC", "START", "DESCRIPTION"};

/* A row of the subscription list table. */
static void subscription_list_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const sub_t *s = (const sub_t *)item;
    char st[64], start[64];
    const char *row[] = {s->subscription_id,
                         s->product ? s->product->name : "",
                         s->customer_id,
                         sub_status(s->status, st, sizeof(st)),
                         s->in_sync ? "yes" : "no",
                         cli_ts(s->start_time, start, sizeof(start)),
                         s->description};
    cli_table_add_row(t, row);
}

int cli_cmd_subscription_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListSubscriptionsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    const char *query = cli_args_get(args, "query");
    const char *order = cli_args_get(args, "order-by");
    int view, err;

    if ((err = parse_view(args, &view)))
        return err;
    req.view = (Orchestrator__V1__SubscriptionView)view;
    if (query)
        req.query = (char *)query;
    if (order)
        req.order_by = (char *)order;
    return cli_list_run(ctx, args, &req.base, SVC "ListSubscriptions",
                        &orchestrator__v1__list_subscriptions_response__descriptor, "subscriptions",
                        7, subscription_list_headers, subscription_list_row);
}

/* ---- get: attributes, descriptions, metadata, the block tree ---- */

static void print_instance(const Orchestrator__V1__SubscriptionInstance *in, int indent,
                           const char *subscription_id)
{
    for (size_t i = 0; i < in->n_values; i++) {
        const Orchestrator__V1__InstanceFieldValue *v = in->values[i];
        printf("%*s%s:", indent, "", v->name);
        if (v->is_list) {
            fputs(" [", stdout);
            for (size_t k = 0; k < v->n_values; k++)
                printf("%s%s", k ? ", " : "", v->values[k]);
            fputs("]\n", stdout);
        } else {
            printf(" %s\n", v->n_values ? v->values[0] : "-");
        }
    }
    for (size_t i = 0; i < in->n_children; i++) {
        const Orchestrator__V1__InstanceChild *c = in->children[i];
        const Orchestrator__V1__SubscriptionInstance *ci = c->instance;
        printf("%*s%s", indent, "", c->attribute);
        /* A list attribute shows its position; a single child does not need it. */
        bool listed = false;
        for (size_t k = 0; k < in->n_children; k++)
            if (k != i && strcmp(in->children[k]->attribute, c->attribute) == 0)
                listed = true;
        if (listed || c->position > 0)
            printf("[%d]", c->position);
        if (!ci) {
            fputs(": -\n", stdout);
            continue;
        }
        printf(": %s", ci->product_block);
        if (*ci->label)
            printf(" \"%s\"", ci->label);
        printf("  (%s)", ci->subscription_instance_id);
        if (c->foreign || (*ci->owner_subscription_id &&
                           strcmp(ci->owner_subscription_id, subscription_id) != 0)) {
            printf("  foreign, owned by subscription %s\n", ci->owner_subscription_id);
            if (!c->foreign)
                print_instance(ci, indent + 4, subscription_id);
            continue;
        }
        fputc('\n', stdout);
        print_instance(ci, indent + 4, subscription_id);
    }
}

static void print_id_list(const char *label, char **ids, size_t n)
{
    if (!n)
        return;
    printf("%s", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : " ", ids[i]);
    fputc('\n', stdout);
}

static void print_subscription(const ProtobufCMessage *m)
{
    const sub_t *s = (const sub_t *)m;
    char st[64], start[64], end[64], created[64], updated[64], version[32];
    char *product = s->product ? orch_asprintf("%s (%s, %s)", s->product->name, s->product->tag,
                                               s->product->product_id)
                               : orch_strdup("-");
    snprintf(version, sizeof(version), "%lld", (long long)s->version);
    const char *rows[][2] = {
        {"ID:", s->subscription_id},
        {"Product:", product},
        {"Customer:", s->customer_id},
        {"Description:", s->description},
        {"Status:", sub_status(s->status, st, sizeof(st))},
        {"In sync:", s->in_sync ? "yes" : "no (locked by a workflow, or after a failure)"},
        {"Start:", cli_ts(s->start_time, start, sizeof(start))},
        {"End:", cli_ts(s->end_time, end, sizeof(end))},
        {"Note:", s->note},
        {"Version:", version},
        {"Created:", cli_ts(s->create_time, created, sizeof(created))},
        {"Updated:", cli_ts(s->update_time, updated, sizeof(updated))},
    };
    cli_print_fields(rows, sizeof(rows) / sizeof(rows[0]), stdout);
    free(product);
    print_id_list("In use by:", s->in_use_by_subscription_ids, s->n_in_use_by_subscription_ids);
    print_id_list("Depends on:", s->depends_on_subscription_ids, s->n_depends_on_subscription_ids);

    if (s->n_customer_descriptions) {
        printf("\nCustomer descriptions:\n");
        const char *dh[] = {"CUSTOMER", "DESCRIPTION", "VERSION"};
        cli_table_t *t = cli_table_new(3, dh);
        for (size_t i = 0; i < s->n_customer_descriptions; i++) {
            const Orchestrator__V1__CustomerDescription *d = s->customer_descriptions[i];
            char v[32];
            snprintf(v, sizeof(v), "%lld", (long long)d->version);
            const char *row[] = {d->customer_id, d->description, v};
            cli_table_add_row(t, row);
        }
        cli_table_print(t, stdout, 2);
        cli_table_free(t);
    }
    if (s->metadata && s->metadata->n_fields) {
        printf("\nMetadata:\n");
        json_t *j = cli_json_from_message(&s->base);
        cli_print_json_text(json_object_get(j, "metadata"), stdout, 2);
        json_decref(j);
    }
    if (s->root_instance) {
        const Orchestrator__V1__SubscriptionInstance *r = s->root_instance;
        printf("\nBlocks:\n  %s", r->product_block);
        if (*r->label)
            printf(" \"%s\"", r->label);
        printf("  (%s)\n", r->subscription_instance_id);
        print_instance(r, 4, s->subscription_id);
    }
}

int cli_cmd_subscription_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    char id[37];
    int view, err;
    if ((err = parse_view(args, &view)))
        return err;
    req.view = (Orchestrator__V1__SubscriptionView)view;
    if ((err = cli_subscription_arg(ctx, args->pos[0], id, &req.subscription_id)))
        return err;
    return cli_call_print(ctx, SVC "GetSubscription", &req.base,
                          &orchestrator__v1__subscription__descriptor, print_subscription);
}

/* ---- workflows ---- */

static const char *const subscription_workflows_headers[] = {"WORKFLOW", "TARGET", "ALLOWED",
                                                             "REASON", "DESCRIPTION"};

/* A row of the subscription workflows table. */
static void subscription_workflows_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const Orchestrator__V1__SubscriptionWorkflow *w =
        (const Orchestrator__V1__SubscriptionWorkflow *)item;
    char target[64];
    char *reason = NULL;
    if (!w->allowed) {
        reason = orch_asprintf("%s%s%s", w->blocked_reason, *w->blocked_message ? ": " : "",
                               w->blocked_message);
        for (size_t k = 0; k < w->n_blocking_subscription_ids; k++) {
            char *r = orch_asprintf("%s%s%s", reason, k ? ", " : " (used by ",
                                    w->blocking_subscription_ids[k]);
            free(reason);
            reason = r;
        }
        if (w->n_blocking_subscription_ids) {
            char *r = orch_asprintf("%s)", reason);
            free(reason);
            reason = r;
        }
    }
    const char *row[] = {w->workflow ? w->workflow->name : "",
                         w->workflow ? cli_enum_name(&orchestrator__v1__workflow_target__descriptor,
                                                     w->workflow->target, target, sizeof(target))
                                     : "",
                         w->allowed ? "yes" : "no", reason ? reason : "", w->description};
    cli_table_add_row(t, row);
    free(reason);
}

int cli_cmd_subscription_workflows(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListSubscriptionWorkflowsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTION_WORKFLOWS_REQUEST__INIT;
    char id[37];
    int err = cli_subscription_arg(ctx, args->pos[0], id, &req.subscription_id);
    if (err)
        return err;
    return cli_list_run(ctx, args, &req.base, SVC "ListSubscriptionWorkflows",
                        &orchestrator__v1__list_subscription_workflows_response__descriptor,
                        "workflows", 5, subscription_workflows_headers, subscription_workflows_row);
}

/* ---- set-in-sync, metadata ---- */

/* What a command that changes one subscription acts on: the subscription its first argument
 * names (see cli_subscription_arg; id may point into buf, so the struct stays where it was
 * filled) and the version it expects (--version, 0 when not given). */
typedef struct sub_target {
    char buf[37];
    char *id;
    long long version;
} sub_target_t;

/* --version, then the subscription. Returns 0 or an exit code (reported). */
static int sub_target(cli_ctx_t *ctx, const cli_args_t *args, sub_target_t *t)
{
    int err = cli_args_version(args, &t->version);
    return err ? err : cli_subscription_arg(ctx, args->pos[0], t->buf, &t->id);
}

int cli_cmd_subscription_set_in_sync(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__SetSubscriptionInSyncRequest req =
        ORCHESTRATOR__V1__SET_SUBSCRIPTION_IN_SYNC_REQUEST__INIT;
    sub_target_t t;
    int err;
    if ((err = sub_target(ctx, args, &t)))
        return err;
    req.subscription_id = t.id;
    req.version = t.version;
    req.request_id = cli_request_id(args);
    return cli_call_print(ctx, SVC "SetSubscriptionInSync", &req.base,
                          &orchestrator__v1__subscription__descriptor, print_subscription);
}

/* The current version of a subscription (BASIC view), for commands that need one. */
static int current_version(cli_ctx_t *ctx, const char *id, long long *version)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.subscription_id = (char *)id;
    req.view = ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_BASIC;
    int err = cli_call(ctx, SVC "GetSubscription", &req.base,
                       &orchestrator__v1__subscription__descriptor, &resp);
    if (!err)
        *version = ((sub_t *)resp)->version;
    cli_msg_free(resp);
    return err;
}

int cli_cmd_subscription_metadata(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__UpdateSubscriptionMetadataRequest req =
        ORCHESTRATOR__V1__UPDATE_SUBSCRIPTION_METADATA_REQUEST__INIT;
    const char *set = cli_args_get(args, "set");
    Google__Protobuf__Struct *md = NULL;
    char id[37];
    long long version;
    int err;

    if (!set)
        return cli_usage_error("subscription metadata wants --set FILE.json (the new metadata)");
    if ((err = cli_args_version(args, &version)) || (err = cli_read_struct("--set", set, &md)))
        return err;
    if ((err = cli_subscription_arg(ctx, args->pos[0], id, &req.subscription_id)))
        return err;
    if (!version && (err = current_version(ctx, req.subscription_id, &version)))
        goto out;
    req.version = version;
    req.metadata = md;
    req.request_id = cli_request_id(args);
    err = cli_call_print(ctx, SVC "UpdateSubscriptionMetadata", &req.base,
                         &orchestrator__v1__subscription__descriptor, print_subscription);
out:
    protobuf_c_message_free_unpacked(&md->base, NULL);
    return err;
}

/* ---- customer descriptions ---- */

static void print_description(const ProtobufCMessage *m)
{
    const Orchestrator__V1__CustomerDescription *d =
        (const Orchestrator__V1__CustomerDescription *)m;
    char c[64], u[64];
    printf("Subscription:  %s\nCustomer:      %s\nDescription:   %s\nVersion:       %lld\n"
           "ID:            %s\nCreated:       %s\nUpdated:       %s\n",
           d->subscription_id, d->customer_id, d->description, (long long)d->version,
           d->customer_description_id, cli_ts(d->create_time, c, sizeof(c)),
           cli_ts(d->update_time, u, sizeof(u)));
}

int cli_cmd_subscription_description_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetCustomerDescriptionRequest req =
        ORCHESTRATOR__V1__GET_CUSTOMER_DESCRIPTION_REQUEST__INIT;
    char id[37];
    int err = cli_subscription_arg(ctx, args->pos[0], id, &req.subscription_id);
    if (err)
        return err;
    req.customer_id = (char *)args->pos[1];
    return cli_call_print(ctx, SVC "GetCustomerDescription", &req.base,
                          &orchestrator__v1__customer_description__descriptor, print_description);
}

int cli_cmd_subscription_description_set(cli_ctx_t *ctx, const cli_args_t *args)
{
    ProtobufCMessage *resp = NULL;
    sub_target_t t;
    int err;

    if ((err = sub_target(ctx, args, &t)))
        return err;
    if (!t.version) {
        /* Create when the customer has no description yet; else change the current one. */
        Orchestrator__V1__GetCustomerDescriptionRequest g =
            ORCHESTRATOR__V1__GET_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        cli_status_t st = {0};
        g.subscription_id = t.id;
        g.customer_id = (char *)args->pos[1];
        int code = cli_call_unary(cli_ctx_channel(ctx), SVC "GetCustomerDescription", &g.base,
                                  &orchestrator__v1__customer_description__descriptor,
                                  ctx->timeout_ms, &resp, &st);
        bool create = code == GRPC_STATUS_NOT_FOUND && st.reason &&
                      strcmp(st.reason, "CUSTOMER_DESCRIPTION_NOT_FOUND") == 0;
        if (code != 0 && !create) {
            err = cli_report_call(&st, SVC "GetCustomerDescription");
            cli_status_cleanup(&st);
            return err;
        }
        cli_status_cleanup(&st);
        if (create) {
            Orchestrator__V1__CreateCustomerDescriptionRequest c =
                ORCHESTRATOR__V1__CREATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
            c.subscription_id = t.id;
            c.customer_id = (char *)args->pos[1];
            c.description = (char *)args->pos[2];
            c.request_id = cli_request_id(args);
            err = cli_call_print(ctx, SVC "CreateCustomerDescription", &c.base,
                                 &orchestrator__v1__customer_description__descriptor,
                                 print_description);
            goto out;
        }
        t.version = ((Orchestrator__V1__CustomerDescription *)resp)->version;
        protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
    }
    Orchestrator__V1__UpdateCustomerDescriptionRequest u =
        ORCHESTRATOR__V1__UPDATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
    u.subscription_id = t.id;
    u.customer_id = (char *)args->pos[1];
    u.description = (char *)args->pos[2];
    u.version = t.version;
    u.request_id = cli_request_id(args);
    err = cli_call_print(ctx, SVC "UpdateCustomerDescription", &u.base,
                         &orchestrator__v1__customer_description__descriptor, print_description);
out:
    cli_msg_free(resp);
    return err;
}

static void print_outcome(const ProtobufCMessage *m)
{
    json_t *j = cli_json_from_message(m);
    const char *o = json_string_value(json_object_get(j, "outcome"));
    printf("%s\n",
           o && strcmp(o, "already_applied") == 0 ? "already done (same request id)" : "done");
    json_decref(j);
}

int cli_cmd_subscription_description_delete(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__DeleteCustomerDescriptionRequest req =
        ORCHESTRATOR__V1__DELETE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
    sub_target_t t;
    int err;
    if ((err = sub_target(ctx, args, &t)))
        return err;
    req.subscription_id = t.id;
    req.customer_id = (char *)args->pos[1];
    req.version = t.version;
    req.request_id = cli_request_id(args);
    return cli_call_print(ctx, SVC "DeleteCustomerDescription", &req.base,
                          &orchestrator__v1__delete_customer_description_response__descriptor,
                          print_outcome);
}

/* ---- watch ---- */

static void print_sub_event(const Orchestrator__V1__SubscriptionEvent *e)
{
    char when[64], kind[64], a[64], b[64];
    printf("%s  #%lld  %-19s", cli_ts(e->event_time, when, sizeof(when)), (long long)e->sequence,
           cli_enum_name(&orchestrator__v1__subscription_event_kind__descriptor, e->kind, kind,
                         sizeof(kind)));
    switch (e->payload_case) {
    case ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_SNAPSHOT:
        printf("  status %s, %s, version %lld", sub_status(e->snapshot->status, a, sizeof(a)),
               e->snapshot->in_sync ? "in sync" : "locked", (long long)e->snapshot->version);
        break;
    case ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_STATUS_CHANGE:
        printf("  %s -> %s", sub_status(e->status_change->old_status, a, sizeof(a)),
               sub_status(e->status_change->new_status, b, sizeof(b)));
        break;
    case ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_SYNC_CHANGE:
        printf("  %s", e->sync_change->in_sync ? "in sync" : "locked");
        break;
    case ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_FIELDS_CHANGE: {
        const Orchestrator__V1__SubscriptionFieldsChange *f = e->fields_change;
        for (size_t i = 0; i < f->n_changes; i++) {
            const Orchestrator__V1__InstanceFieldChange *c = f->changes[i];
            printf("%s%s.%s: ", i ? "; " : "  ", c->product_block, c->name);
            for (size_t k = 0; k < c->n_old_values; k++)
                printf("%s%s", k ? "," : "", c->old_values[k]);
            fputs(c->n_old_values ? " -> " : "(unset) -> ", stdout);
            for (size_t k = 0; k < c->n_new_values; k++)
                printf("%s%s", k ? "," : "", c->new_values[k]);
            if (!c->n_new_values)
                fputs("(unset)", stdout);
        }
        if (f->n_added_instance_ids)
            printf("  +%zu block(s)", f->n_added_instance_ids);
        if (f->n_removed_instance_ids)
            printf("  -%zu block(s)", f->n_removed_instance_ids);
        break;
    }
    default:
        break;
    }
    if (*e->process_id)
        printf("  (process %s)", e->process_id);
    if (e->actor && *e->actor->name)
        printf("  by %s", e->actor->name);
    fputc('\n', stdout);
}

int cli_cmd_subscription_watch(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__WatchSubscriptionRequest req =
        ORCHESTRATOR__V1__WATCH_SUBSCRIPTION_REQUEST__INIT;
    const char *after = cli_args_get(args, "after-sequence");
    const char *method = SVC "WatchSubscription";
    char id[37];
    long long seq = 0;
    int err;
    if (after && (err = cli_parse_int("--after-sequence", after, 0, INT64_MAX, &seq)))
        return err;
    if ((err = cli_subscription_arg(ctx, args->pos[0], id, &req.subscription_id)))
        return err;
    req.after_sequence = seq;

    cli_stream_t *s = cli_stream_open(cli_ctx_channel(ctx), method, &req.base, ctx->timeout_ms);
    for (;;) {
        ProtobufCMessage *m = NULL;
        int r = cli_stream_next(s, &orchestrator__v1__subscription_event__descriptor, 1000, &m);
        if (r < 0)
            continue;
        if (r == 0)
            break;
        if (ctx->json) {
            cli_json_print_line(m, stdout);
        } else {
            print_sub_event((const Orchestrator__V1__SubscriptionEvent *)m);
        }
        fflush(stdout);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    cli_status_t st;
    cli_stream_close(s, &st);
    err = st.code == 0 ? CLI_EXIT_OK : cli_report_call(&st, method);
    cli_status_cleanup(&st);
    return err;
}
