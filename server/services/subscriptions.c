/* orchestrator.v1.SubscriptionService: decode -> one use case (domain/usecase/subscription.c,
 * query.c) -> encode. Subscription writes other than the operator calls here happen only
 * inside workflows. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "domain/subcache.h"
#include "domain/subscription/offered.h"
#include "orchestrator/v1/subscriptions.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"
#include "server/services/subpb.h"
#include "server/services/ucall.h"

static char *s(orch_arena_t *a, const char *str)
{
    return orch_arena_strdup(a, str);
}

/* The domain's status enum is in the proto's order. */
static Orchestrator__V1__SubscriptionStatus status_to_pb(orch_sub_status_t st)
{
    return (Orchestrator__V1__SubscriptionStatus)st;
}

static Orchestrator__V1__SubscriptionInstance *instance_to_pb(orch_arena_t *a,
                                                              const orch_instance_t *in)
{
    Orchestrator__V1__SubscriptionInstance *pb = SRV_NEW(a, Orchestrator__V1__SubscriptionInstance);
    size_t nchildren = 0, k = 0;

    orchestrator__v1__subscription_instance__init(pb);
    pb->subscription_instance_id = s(a, in->id);
    pb->product_block = s(a, in->block->def->name);
    pb->label = s(a, in->label);
    pb->owner_subscription_id = s(a, in->subscription_id);
    if (in->foreign && !in->loaded)
        return pb;
    pb->n_values = in->block->nfields;
    pb->values = SRV_NEWV(a, Orchestrator__V1__InstanceFieldValue, pb->n_values);
    for (size_t i = 0; i < in->block->nfields; i++) {
        const orch_field_def_t *f = &in->block->def->fields[i];
        Orchestrator__V1__InstanceFieldValue *v = SRV_NEW(a, Orchestrator__V1__InstanceFieldValue);
        orchestrator__v1__instance_field_value__init(v);
        v->name = s(a, f->name);
        v->type = (Orchestrator__V1__FieldType)f->type;
        v->is_list = f->is_list;
        v->n_values = in->values[i].n;
        v->values = orch_arena_alloc(a, (v->n_values ? v->n_values : 1) * sizeof(char *));
        for (size_t j = 0; j < v->n_values; j++)
            v->values[j] = s(a, in->values[i].items[j]);
        pb->values[i] = v;
    }
    for (size_t i = 0; i < in->block->nchildren; i++)
        nchildren += in->children[i].n;
    pb->n_children = nchildren;
    pb->children = SRV_NEWV(a, Orchestrator__V1__InstanceChild, nchildren);
    for (size_t i = 0; i < in->block->nchildren; i++) {
        for (size_t j = 0; j < in->children[i].n; j++) {
            Orchestrator__V1__InstanceChild *c = SRV_NEW(a, Orchestrator__V1__InstanceChild);
            orchestrator__v1__instance_child__init(c);
            c->attribute = s(a, in->block->def->children[i].name);
            c->position = (int32_t)j;
            c->foreign = in->children[i].items[j]->foreign;
            c->instance = instance_to_pb(a, in->children[i].items[j]);
            pb->children[k++] = c;
        }
    }
    return pb;
}

static Orchestrator__V1__CustomerDescription *cd_to_pb(orch_arena_t *a, const char *sub_id,
                                                       const orch_customer_description_t *cd)
{
    Orchestrator__V1__CustomerDescription *pb = SRV_NEW(a, Orchestrator__V1__CustomerDescription);
    orchestrator__v1__customer_description__init(pb);
    pb->customer_description_id = s(a, cd->id);
    pb->subscription_id = s(a, sub_id);
    pb->customer_id = s(a, cd->customer_id);
    pb->description = s(a, cd->description);
    pb->version = cd->version;
    pb->create_time = srv_codec_timestamp(a, cd->create_time_us);
    pb->update_time = srv_codec_timestamp(a, cd->update_time_us);
    return pb;
}

Orchestrator__V1__Subscription *srv_subscription_to_pb(orch_arena_t *a,
                                                       const orch_subscription_t *sub, bool full)
{
    Orchestrator__V1__Subscription *pb = SRV_NEW(a, Orchestrator__V1__Subscription);
    orch_sub_link_t *deps;
    size_t ndeps = 0;

    orchestrator__v1__subscription__init(pb);
    pb->subscription_id = s(a, sub->id);
    pb->product = srv_product_ref_pb(a, sub->product->id, sub->product->def->name,
                                     sub->product->def->product_type, sub->product->def->tag);
    pb->customer_id = s(a, sub->customer_id);
    pb->description = s(a, sub->description);
    pb->status = status_to_pb(sub->status);
    pb->in_sync = sub->in_sync;
    pb->start_time = srv_codec_timestamp(a, sub->start_time_us);
    pb->end_time = srv_codec_timestamp(a, sub->end_time_us);
    pb->note = s(a, sub->note);
    pb->version = sub->version;
    pb->create_time = srv_codec_timestamp(a, sub->create_time_us);
    pb->update_time = srv_codec_timestamp(a, sub->update_time_us);
    pb->n_customer_descriptions = sub->ncustomer_descriptions;
    pb->customer_descriptions =
        SRV_NEWV(a, Orchestrator__V1__CustomerDescription, sub->ncustomer_descriptions);
    for (size_t i = 0; i < sub->ncustomer_descriptions; i++)
        pb->customer_descriptions[i] = cd_to_pb(a, sub->id, &sub->customer_descriptions[i]);
    pb->n_in_use_by_subscription_ids = sub->nin_use_by;
    pb->in_use_by_subscription_ids =
        orch_arena_alloc(a, (sub->nin_use_by ? sub->nin_use_by : 1) * sizeof(char *));
    for (size_t i = 0; i < sub->nin_use_by; i++)
        pb->in_use_by_subscription_ids[i] = s(a, sub->in_use_by[i].subscription_id);
    deps = orch_sub_depends_on(sub, &ndeps);
    pb->n_depends_on_subscription_ids = ndeps;
    pb->depends_on_subscription_ids = orch_arena_alloc(a, (ndeps ? ndeps : 1) * sizeof(char *));
    for (size_t i = 0; i < ndeps; i++)
        pb->depends_on_subscription_ids[i] = s(a, deps[i].subscription_id);
    free(deps);
    if (full) {
        json_t *model = orch_sub_to_json(sub);
        pb->metadata = srv_codec_struct_from_json(a, sub->metadata);
        pb->root_instance = instance_to_pb(a, sub->root);
        pb->domain_model = srv_codec_struct_from_json(a, model);
        json_decref(model);
    }
    return pb;
}

static bool view_full(Orchestrator__V1__SubscriptionView v, bool dflt)
{
    if (v == ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_FULL)
        return true;
    if (v == ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_BASIC)
        return false;
    return dflt;
}

static orch_err_t load(srv_call_t *call, const char *id, orch_subscription_t **out,
                       orch_error_t *err)
{
    orch_uc_t uc = srv_uc(call);
    orch_err_t rc = orch_uuid_check(id, "subscription_id", err);
    if (rc)
        return rc;
    return orch_uc_subscription_load(&uc, srv_call_ctx(call), id, out, err);
}

static void *arena_alloc(void *arena, size_t n)
{
    return orch_arena_alloc(arena, n);
}

/* Keeps sub, just read with stamp under ticket (taken before the read), in the replica's
 * cache as bytes (its encoding in view), with the subscriptions it is related to: what it
 * uses (its tree shows their blocks) and who uses it. Refused by the cache when anything
 * was dropped since the ticket (domain/subcache.h). */
static void keep(srv_app_t *app, orch_arena_t *a, uint64_t ticket, const orch_subscription_t *sub,
                 const char *stamp, orch_subcache_view_t view, const void *view_bytes,
                 size_t view_len)
{
    const void *bytes[ORCH_SUBCACHE_VIEWS];
    size_t len[ORCH_SUBCACHE_VIEWS], ndeps = 0, nrel = 0;
    orch_sub_link_t *deps = orch_sub_depends_on(sub, &ndeps);
    const char **related = orch_arena_alloc(a, (ndeps + sub->nin_use_by + 1) * sizeof(char *));

    /* The view read; the entry keeps the other one if it has it at this stamp. */
    memset(bytes, 0, sizeof(bytes));
    memset(len, 0, sizeof(len));
    bytes[view] = view_bytes;
    len[view] = view_len;
    for (size_t i = 0; i < ndeps; i++)
        related[nrel++] = deps[i].subscription_id;
    for (size_t i = 0; i < sub->nin_use_by; i++)
        related[nrel++] = sub->in_use_by[i].subscription_id;
    orch_subcache_put(app->subcache, ticket, sub->id, stamp, related, nrel, bytes, len);
    free(deps);
}

/* The miss path: the tree in one statement, encoded in the view asked for straight from the
 * tree (subenc.c: no message tree, no JSON tree), kept in the replica's cache
 * (domain/subcache.h) unless something was dropped while it was read. */
static orch_err_t get_and_keep(srv_call_t *call, const char *id, orch_subcache_view_t view,
                               orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    orch_subscription_t *sub = NULL;
    void *bytes;
    size_t len = 0;
    char stamp[33];
    uint64_t ticket = app->subcache ? orch_subcache_ticket(app->subcache) : 0;
    orch_err_t rc;

    rc = orch_uc_subscription_get(&uc, srv_call_ctx(call), id, &sub, stamp, err);
    if (rc)
        return rc;
    bytes = srv_subscription_encode(a, sub, view == ORCH_SUBCACHE_FULL, &len);
    if (app->subcache)
        keep(app, a, ticket, sub, stamp, view, bytes, len);
    srv_call_respond_encoded(call, bytes, len);
    orch_subscription_free(sub);
    return ORCH_OK;
}

/* Reads the request's consistency: *strong for STRONG; CACHED or unset otherwise. */
static orch_err_t consistency(Orchestrator__V1__ReadConsistency c, bool *strong, orch_error_t *err)
{
    *strong = c == ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_STRONG;
    if (c != ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_UNSPECIFIED &&
        c != ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_CACHED && !*strong)
        return orch_error_invalid(err, "consistency", "must be CACHED or STRONG (or unset)");
    return ORCH_OK;
}

/* Answers a ListSubscriptions page from its subscriptions' encodings (bytes[i], len[i] for
 * page->ids[i]; NULL: deleted since the page was read, left out): field 1 of
 * ListSubscriptionsResponse, one length-delimited entry each, in the page's order, then the
 * rest of the message packed, which is the encoding protobuf-c gives the whole message
 * (fields in number order). */
static void respond_page(srv_call_t *call, const orch_sub_id_page_t *page, void *const *bytes,
                         const size_t *len)
{
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__ListSubscriptionsResponse rest;
    size_t total = 0, o = 0;
    uint8_t *buf;

    orchestrator__v1__list_subscriptions_response__init(&rest);
    rest.next_page_token = orch_arena_strdup(a, page->next_token ? page->next_token : "");
    rest.total_size = (int32_t)(page->total > INT32_MAX ? INT32_MAX : page->total);
    rest.total_size_is_estimate = page->total_is_estimate;
    total = protobuf_c_message_get_packed_size(&rest.base);
    for (size_t i = 0; i < page->n; i++)
        if (bytes[i])
            total += 1 + 10 + len[i];
    buf = orch_arena_alloc(a, total ? total : 1);
    for (size_t i = 0; i < page->n; i++) {
        if (!bytes[i])
            continue;
        buf[o++] = (1 << 3) | 2; /* field 1, length-delimited */
        o += srv_pb_varint(buf + o, len[i]);
        memcpy(buf + o, bytes[i], len[i]);
        o += len[i];
    }
    o += protobuf_c_message_pack(&rest.base, buf + o);
    srv_call_respond_encoded(call, buf, o);
}

/* ListSubscriptions: the page's ids from the database (which subscriptions match, in which
 * order, and the count are never taken from memory), each subscription from the replica's
 * cache when it has it in the view asked for (as GetSubscription: CACHED as it is, STRONG
 * when its stamp equals the database's, read for the page in one indexed statement), the
 * others read in one statement and kept; the answer is written from their encodings
 * (respond_page). */
SRV_UNARY_HANDLER(list_subscriptions, Orchestrator__V1__ListSubscriptionsRequest)
{
    srv_app_t *app = srv_call_app(call);
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    orch_sub_query_t q = {0};
    orch_sub_id_page_t page;
    orch_subscription_t **subs = NULL;
    char(*stamps)[33] = NULL;
    const char **miss, **gone;
    void **bytes;
    size_t *len, *miss_at, nmiss = 0, ngone = 0;
    bool full = view_full(req->view, false), strong;
    orch_subcache_view_t view = full ? ORCH_SUBCACHE_FULL : ORCH_SUBCACHE_BASIC;
    int size;
    orch_err_t rc;

    *respm = NULL;
    memset(&page, 0, sizeof(page));
    rc = orch_page_size(req->page_size, &size, err);
    if (rc)
        return rc;
    if (req->query && strlen(req->query) > 1000)
        return orch_error_invalid(err, "query", "is longer than 1000 characters");
    rc = consistency(req->consistency, &strong, err);
    if (rc)
        return rc;
    q.filter = req->filter;
    q.query = req->query;
    q.order_by = req->order_by;
    q.page_size = size;
    q.page_token = req->page_token;
    q.full = full;
    /* Stamps only to compare with the cache's: without a cache everything is read anew. */
    rc = orch_uc_subscription_list_ids(&uc, srv_call_ctx(call), &q, strong && app->subcache, &page,
                                       err);
    if (rc)
        return rc;
    bytes = orch_arena_alloc(a, (page.n + 1) * sizeof(void *));
    len = orch_arena_alloc(a, (page.n + 1) * sizeof(size_t));
    miss = orch_arena_alloc(a, (page.n + 1) * sizeof(char *));
    gone = orch_arena_alloc(a, (page.n + 1) * sizeof(char *));
    miss_at = orch_arena_alloc(a, (page.n + 1) * sizeof(size_t));
    for (size_t i = 0; i < page.n; i++) {
        char stamp[33];
        bytes[i] = NULL;
        len[i] = 0;
        if (app->subcache && orch_subcache_get(app->subcache, page.ids[i], view, arena_alloc, a,
                                               &bytes[i], &len[i], stamp)) {
            if (!strong || strcmp(stamp, page.stamps[i]) == 0)
                continue;
            if (!page.stamps[i][0]) /* deleted since: its entry goes */
                gone[ngone++] = page.ids[i];
            bytes[i] = NULL;
            len[i] = 0;
        }
        miss[nmiss] = page.ids[i];
        miss_at[nmiss++] = i;
    }
    if (ngone)
        orch_subcache_drop(app->subcache, gone, ngone);
    if (nmiss) {
        uint64_t ticket = app->subcache ? orch_subcache_ticket(app->subcache) : 0;
        subs = orch_calloc(nmiss, sizeof(*subs));
        stamps = orch_calloc(nmiss, sizeof(*stamps));
        rc = orch_uc_subscription_get_many(&uc, srv_call_ctx(call), miss, nmiss, full, subs, stamps,
                                           err);
        if (rc)
            goto out;
        for (size_t k = 0; k < nmiss; k++) {
            size_t i = miss_at[k];
            if (!subs[k]) /* deleted between the page and its load: left out */
                continue;
            bytes[i] = srv_subscription_encode(a, subs[k], full, &len[i]);
            if (app->subcache)
                keep(app, a, ticket, subs[k], stamps[k], view, bytes[i], len[i]);
        }
    }

    respond_page(call, &page, bytes, len);
out:
    for (size_t k = 0; subs && k < nmiss; k++)
        orch_subscription_free(subs[k]);
    free(subs);
    free(stamps);
    orch_sub_id_page_cleanup(&page);
    return rc;
}

/* GetSubscription from memory when the replica has it: CACHED as it is (kept current by
 * the store's drops and the NOTIFYs, domain/subcache.h), STRONG after comparing its stamp
 * with the database's in one indexed round trip. A miss reads the tree in one statement. */
SRV_UNARY_HANDLER(get_subscription, Orchestrator__V1__GetSubscriptionRequest)
{
    srv_app_t *app = srv_call_app(call);
    orch_subcache_view_t view =
        view_full(req->view, true) ? ORCH_SUBCACHE_FULL : ORCH_SUBCACHE_BASIC;
    bool strong;
    void *bytes = NULL;
    size_t len = 0;
    char stamp[33], now[33];
    orch_err_t rc;

    *respm = NULL;
    rc = orch_uuid_check(req->subscription_id, "subscription_id", err);
    if (rc)
        return rc;
    rc = consistency(req->consistency, &strong, err);
    if (rc)
        return rc;
    if (app->subcache && orch_subcache_get(app->subcache, req->subscription_id, view, arena_alloc,
                                           srv_call_arena(call), &bytes, &len, stamp)) {
        if (!strong) {
            srv_call_respond_encoded(call, bytes, len);
            return ORCH_OK;
        }
        orch_uc_t uc = srv_uc(call);
        rc = orch_uc_subscription_stamp(&uc, srv_call_ctx(call), req->subscription_id, now, err);
        if (rc == ORCH_NOT_FOUND) {
            const char *ids[1] = {req->subscription_id};
            orch_subcache_drop(app->subcache, ids, 1);
        }
        if (rc)
            return rc;
        if (strcmp(now, stamp) == 0) {
            srv_call_respond_encoded(call, bytes, len);
            return ORCH_OK;
        }
    }
    return get_and_keep(call, req->subscription_id, view, err);
}

SRV_UNARY_HANDLER(list_subscription_workflows, Orchestrator__V1__ListSubscriptionWorkflowsRequest)
{
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__ListSubscriptionWorkflowsResponse *resp;
    orch_subscription_t *sub = NULL;
    const orch_product_t *p;
    int size;
    orch_err_t rc;

    rc = orch_page_size(req->page_size, &size, err);
    if (rc)
        return rc;
    if (req->filter && *req->filter)
        return orch_error_invalid(err, "filter",
                                  "is not supported here: a product has only a few workflows");
    if (req->page_token && *req->page_token)
        return orch_error_invalid(err, "page_token",
                                  "is not a token this service issued: every workflow fits on "
                                  "the first page");
    rc = load(call, req->subscription_id, &sub, err);
    if (rc)
        return rc;
    p = sub->product;
    resp = SRV_NEW(a, Orchestrator__V1__ListSubscriptionWorkflowsResponse);
    orchestrator__v1__list_subscription_workflows_response__init(resp);
    resp->workflows = SRV_NEWV(a, Orchestrator__V1__SubscriptionWorkflow, p->nworkflows);
    /* Grouped by target: create, modify, terminate, validate, reconcile. */
    for (int t = ORCH_TARGET_CREATE; t <= ORCH_TARGET_SYSTEM; t++) {
        for (size_t i = 0; i < p->nworkflows; i++) {
            const orch_workflow_ref_t *w = &p->def->workflows[i];
            Orchestrator__V1__SubscriptionWorkflow *sw;
            Orchestrator__V1__WorkflowRef *ref;
            orch_sub_offer_t offer;
            if ((int)w->target != t)
                continue;
            orch_sub_offer(sub, w->name, w->target, false, &offer);
            sw = SRV_NEW(a, Orchestrator__V1__SubscriptionWorkflow);
            orchestrator__v1__subscription_workflow__init(sw);
            ref = SRV_NEW(a, Orchestrator__V1__WorkflowRef);
            orchestrator__v1__workflow_ref__init(ref);
            ref->name = s(a, w->name);
            ref->target = (Orchestrator__V1__WorkflowTarget)w->target;
            sw->workflow = ref;
            sw->description = s(a, w->description);
            sw->allowed = offer.allowed;
            sw->blocked_reason = s(a, offer.reason);
            sw->blocked_message = s(a, offer.allowed ? "" : offer.message);
            if (offer.reason && strcmp(offer.reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS") == 0) {
                sw->blocking_subscription_ids =
                    orch_arena_alloc(a, (sub->nin_use_by ? sub->nin_use_by : 1) * sizeof(char *));
                for (size_t k = 0; k < sub->nin_use_by; k++)
                    if (sub->in_use_by[k].status != ORCH_SUB_TERMINATED)
                        sw->blocking_subscription_ids[sw->n_blocking_subscription_ids++] =
                            s(a, sub->in_use_by[k].subscription_id);
            }
            resp->workflows[resp->n_workflows++] = sw;
        }
    }
    resp->total_size = (int32_t)resp->n_workflows;
    orch_subscription_free(sub);
    *respm = &resp->base;
    return ORCH_OK;
}

static ProtobufCMessage *sub_pb(srv_call_t *call, void *res)
{
    orch_subscription_t *const *sub = res;
    return &srv_subscription_to_pb(srv_call_arena(call), *sub, true)->base;
}

SRV_UNARY_HANDLER(set_in_sync, Orchestrator__V1__SetSubscriptionInSyncRequest)
{
    orch_subscription_t *sub = NULL;
    srv_ucall_t u;
    orch_err_t rc;
    srv_ucall_init(&u, call, reqm, req->request_id, sub_pb, &sub);
    rc = orch_uc_subscription_set_in_sync(&u.uc, &u.caller, req->subscription_id, req->version,
                                          &sub, err);
    rc = srv_ucall_end(&u, rc, respm, err);
    orch_subscription_free(sub);
    return rc;
}

SRV_UNARY_HANDLER(update_metadata, Orchestrator__V1__UpdateSubscriptionMetadataRequest)
{
    orch_subscription_t *sub = NULL;
    json_t *meta;
    srv_ucall_t u;
    orch_err_t rc;
    if (!req->metadata)
        return orch_error_invalid(err, "metadata", "the new metadata (an object) is required");
    meta = srv_codec_json_from_struct(req->metadata);
    srv_ucall_init(&u, call, reqm, req->request_id, sub_pb, &sub);
    rc = orch_uc_subscription_set_metadata(&u.uc, &u.caller, req->subscription_id, req->version,
                                           meta, &sub, err);
    rc = srv_ucall_end(&u, rc, respm, err);
    orch_subscription_free(sub);
    json_decref(meta);
    return rc;
}

/* The answer of a customer description change: the description, or a delete's outcome. */
typedef struct cd_answer {
    orch_cd_op_t op;
    const char *sub_id;
    orch_customer_description_t cd;
} cd_answer_t;

static ProtobufCMessage *cd_pb(srv_call_t *call, void *res)
{
    cd_answer_t *ca = res;
    if (ca->op == ORCH_CD_DELETE)
        return srv_applied_answer(
            call, &orchestrator__v1__delete_customer_description_response__descriptor);
    return &cd_to_pb(srv_call_arena(call), ca->sub_id, &ca->cd)->base;
}

static orch_err_t cd_change(srv_call_t *call, const ProtobufCMessage *reqm, orch_cd_op_t op,
                            const char *sub_id, const char *customer_id, const char *description,
                            int64_t version, const char *request_id, ProtobufCMessage **respm,
                            orch_error_t *err)
{
    cd_answer_t ca = {.op = op, .sub_id = sub_id};
    srv_ucall_t u;
    orch_err_t rc;
    srv_ucall_init(&u, call, reqm, request_id, cd_pb, &ca);
    rc = orch_uc_customer_description_change(&u.uc, &u.caller, op, sub_id, customer_id, description,
                                             version, &ca.cd, err);
    rc = srv_ucall_end(&u, rc, respm, err);
    orch_customer_description_cleanup(&ca.cd);
    return rc;
}

static orch_err_t create_cd(srv_call_t *call, const ProtobufCMessage *reqm,
                            ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__CreateCustomerDescriptionRequest *r = (const void *)reqm;
    return cd_change(call, reqm, ORCH_CD_CREATE, r->subscription_id, r->customer_id, r->description,
                     0, r->request_id, respm, err);
}

static orch_err_t update_cd(srv_call_t *call, const ProtobufCMessage *reqm,
                            ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__UpdateCustomerDescriptionRequest *r = (const void *)reqm;
    return cd_change(call, reqm, ORCH_CD_UPDATE, r->subscription_id, r->customer_id, r->description,
                     r->version, r->request_id, respm, err);
}

static orch_err_t delete_cd(srv_call_t *call, const ProtobufCMessage *reqm,
                            ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__DeleteCustomerDescriptionRequest *r = (const void *)reqm;
    return cd_change(call, reqm, ORCH_CD_DELETE, r->subscription_id, r->customer_id, NULL,
                     r->version, r->request_id, respm, err);
}

static orch_err_t get_cd(srv_call_t *call, const ProtobufCMessage *reqm, ProtobufCMessage **respm,
                         orch_error_t *err)
{
    const Orchestrator__V1__GetCustomerDescriptionRequest *r = (const void *)reqm;
    orch_uc_t uc = srv_uc(call);
    orch_customer_description_t cd;
    orch_err_t rc = orch_uc_customer_description_get(&uc, srv_call_ctx(call), r->subscription_id,
                                                     r->customer_id, &cd, err);
    if (rc)
        return rc;
    *respm = &cd_to_pb(srv_call_arena(call), r->subscription_id, &cd)->base;
    orch_customer_description_cleanup(&cd);
    return ORCH_OK;
}

#define SUB_SVC &orchestrator__v1__subscription_service__descriptor

const srv_method_t srv_subscription_methods[] = {
    {SUB_SVC, "ListSubscriptions", list_subscriptions, SRV_ROLE_READER, NULL},
    {SUB_SVC, "GetSubscription", get_subscription, SRV_ROLE_READER, NULL},
    {SUB_SVC, "ListSubscriptionWorkflows", list_subscription_workflows, SRV_ROLE_READER, NULL},
    {SUB_SVC, "SetSubscriptionInSync", set_in_sync, SRV_ROLE_ADMIN, NULL},
    {SUB_SVC, "UpdateSubscriptionMetadata", update_metadata, SRV_ROLE_OPERATOR, NULL},
    {SUB_SVC, "CreateCustomerDescription", create_cd, SRV_ROLE_OPERATOR, NULL},
    {SUB_SVC, "GetCustomerDescription", get_cd, SRV_ROLE_READER, NULL},
    {SUB_SVC, "UpdateCustomerDescription", update_cd, SRV_ROLE_OPERATOR, NULL},
    {SUB_SVC, "DeleteCustomerDescription", delete_cd, SRV_ROLE_OPERATOR, NULL},
    {0},
};
