/* RegisterWorkflow and the replica's set of workflows registered as data
 * (workflow_register.h). The compiled definitions are kept for the life of the set: the
 * registry, the catalogue's offered workflows and the engine's running steps point into
 * them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "domain/engine/definition.h"
#include "domain/usecase/workflow_register.h"

struct orch_wfdefs {
    orch_store_t *st;
    orch_catalog_t *cat;
    orch_registry_t *reg;
    pthread_mutex_t mu; /* guards what follows; held while a definition is installed */
    orch_definition_t **defs;
    size_t n;
    char replica_id[37]; /* "" until set */
};

orch_wfdefs_t *orch_wfdefs_new(orch_store_t *st, orch_catalog_t *cat, orch_registry_t *reg)
{
    orch_wfdefs_t *w = orch_calloc(1, sizeof(*w));
    w->st = st;
    w->cat = cat;
    w->reg = reg;
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

void orch_wfdefs_free(orch_wfdefs_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        orch_definition_free(w->defs[i]);
    free(w->defs);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void orch_wfdefs_set_replica(orch_wfdefs_t *w, const char *replica_id)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->replica_id, sizeof(w->replica_id), "%s", replica_id ? replica_id : "");
    pthread_mutex_unlock(&w->mu);
}

/* Makes d runnable here: registry, offered by its products, claimed by this replica. Takes
 * d (kept, or freed when the version is here already). Called with w->mu held. */
static orch_err_t install_locked(orch_wfdefs_t *w, orch_definition_t *d, orch_error_t *err)
{
    const orch_workflow_def_t *wf = orch_definition_workflow(d);
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
    orch_err_t rc;

    if (orch_registry_find(w->reg, wf->name, wf->version)) {
        orch_definition_free(d);
        return ORCH_OK;
    }
    rc = orch_registry_add(w->reg, wf, err);
    if (rc) {
        orch_definition_free(d);
        return rc;
    }
    w->defs = orch_realloc(w->defs, (w->n + 1) * sizeof(*w->defs));
    w->defs[w->n++] = d;
    orch_definition_offer(d, w->cat);
    if (w->replica_id[0])
        rc = w->st->catalog->wfdef_replica_add(w->st, NULL, &ctx, w->replica_id, wf->name,
                                               wf->version, err);
    if (!rc)
        orch_info("workflows", "workflow %s v%d (registered as data) runs here", wf->name,
                  wf->version);
    return rc;
}

/* Compiles and installs one stored definition. */
static orch_err_t load_row(orch_wfdefs_t *w, const orch_wfdef_row_t *row, orch_error_t *err)
{
    json_error_t jerr;
    json_t *j = json_loads(row->definition, 0, &jerr);
    orch_definition_t *d = NULL;
    orch_err_t rc;

    if (!j)
        return orch_error_set(err, ORCH_INTERNAL, "WORKFLOW_DEFINITION_INVALID",
                              "stored definition of %s v%d is not JSON: %s", row->name,
                              row->version, jerr.text);
    rc = orch_definition_compile(j, row->version, w->cat, "definition", &d, err);
    json_decref(j);
    if (rc)
        return rc;
    pthread_mutex_lock(&w->mu);
    rc = install_locked(w, d, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static orch_err_t load(orch_wfdefs_t *w, const char *name, int version, orch_error_t *err)
{
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    orch_wfdef_row_t *rows = NULL;
    size_t n = 0;
    orch_err_t rc = w->st->catalog->wfdef_list(w->st, NULL, &ctx, name, version, &rows, &n, err);
    for (size_t i = 0; !rc && i < n; i++) {
        orch_error_t one;
        orch_error_init(&one);
        /* One that does not compile here is left out; the others still load. */
        if (load_row(w, &rows[i], &one))
            orch_warn("workflows", "workflow %s v%d (registered as data) cannot run here: %s%s%s",
                      rows[i].name, rows[i].version, one.message, one.nviolations ? ": " : "",
                      one.nviolations ? one.violations[0].description : "");
    }
    orch_wfdef_rows_free(rows, n);
    return rc;
}

orch_err_t orch_wfdefs_load_all(orch_wfdefs_t *w, orch_error_t *err)
{
    return load(w, NULL, 0, err);
}

void orch_wfdefs_notify(void *arg, const char *channel, const char *payload)
{
    orch_wfdefs_t *w = arg;
    char name[128] = "";
    const char *colon = payload ? strrchr(payload, ':') : NULL;
    orch_error_t err;
    (void)channel;

    orch_error_init(&err);
    if (colon && (size_t)(colon - payload) < sizeof(name)) {
        memcpy(name, payload, (size_t)(colon - payload));
        name[colon - payload] = '\0';
        if (load(w, name, atoi(colon + 1), &err))
            orch_warn("workflows", "cannot load workflow %s: %s", payload, err.message);
    } else if (load(w, NULL, 0, &err)) {
        orch_warn("workflows", "cannot load the workflows registered as data: %s", err.message);
    }
}

/* ---- RegisterWorkflow -------------------------------------------------------------------- */

/* The workflow's step list as a replica registers it (its steps_json and digest). */
static orch_err_t render(const orch_workflow_def_t *wf, char **steps_json, char digest[17],
                         orch_error_t *err)
{
    orch_registry_t *scratch = orch_registry_new();
    orch_err_t rc = orch_registry_add(scratch, wf, err);
    if (!rc) {
        const orch_workflow_t *r = orch_registry_find(scratch, wf->name, wf->version);
        *steps_json = orch_strdup(r->steps_json);
        memcpy(digest, r->digest, 17);
    }
    orch_registry_free(scratch);
    return rc;
}

/* The other replicas compile a new version when its NOTIFY reaches them, milliseconds after
 * the commit: the answer waits for that (at most REPLICA_WAIT_MS), so that a StartProcess
 * sent anywhere after it starts the new version. Returns how many live replicas still lack
 * it (a replica that is slow or cut off from the database; it loads it when it can). */
#define REPLICA_WAIT_MS 3000
static long wait_for_replicas(orch_wfdefs_t *w, const char *name, int version)
{
    int64_t until = orch_now_ms() + REPLICA_WAIT_MS;
    long missing = 0;
    for (;;) {
        orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 2000};
        orch_error_t err;
        orch_error_init(&err);
        if (w->st->catalog->wfdef_replicas_missing(w->st, NULL, &ctx, name, version, &missing,
                                                   &err)) {
            orch_warn("workflows", "cannot tell which replicas run %s v%d: %s", name, version,
                      err.message);
            return -1;
        }
        if (missing == 0 || orch_now_ms() >= until)
            break;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    if (missing > 0)
        orch_warn("workflows", "%ld live replica%s cannot run %s v%d yet", missing,
                  missing == 1 ? "" : "s", name, version);
    return missing;
}

/* A key names one step for ever: its kind in every stored version (not only the latest: a
 * key dropped in version 2 may not come back as another kind in version 3). Read after the
 * registration lock was taken, so no version of name is being added meanwhile. */
static orch_err_t check_kinds(orch_wfdefs_t *w, const char *name, const json_t *def,
                              orch_error_t *err)
{
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    orch_wfdef_row_t *rows = NULL;
    size_t n = 0;
    orch_err_t rc = w->st->catalog->wfdef_list(w->st, NULL, &ctx, name, 0, &rows, &n, err);
    for (size_t i = n; !rc && i-- > 0;) {
        json_t *prev = json_loads(rows[i].definition, 0, NULL);
        if (orch_definition_check_kinds(prev, def, "definition", err))
            rc = err->code;
        json_decref(prev);
    }
    orch_wfdef_rows_free(rows, n);
    return rc;
}

orch_err_t orch_workflow_register(orch_wfdefs_t *w, const orch_wf_register_req_t *req,
                                  orch_wf_register_res_t *res, orch_error_t *err)
{
    orch_store_t *st = w->st;
    orch_definition_t *d = NULL;
    orch_tx_t *tx = NULL;
    char *prev = NULL, *steps_json = NULL, prev_digest[65], steps_digest[17];
    const orch_workflow_def_t *wf;
    int max_version = 0;
    bool in_code = false;
    size_t nproducts = 0;
    const char *const *products;
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    /* Every mistake first, before any database work (the version is not known yet). */
    rc = orch_definition_compile(req->definition, 1, w->cat, "definition", &d, err);
    if (rc)
        goto out;
    wf = orch_definition_workflow(d);
    snprintf(res->name, sizeof(res->name), "%s", wf->name);
    snprintf(res->digest, sizeof(res->digest), "%s", orch_definition_digest(d));
    rc = st->uow->begin(st, NULL, &tx, err);
    if (rc)
        goto out;
    rc = st->catalog->wfdef_lock(st, tx, NULL, wf->name, &max_version, &prev, prev_digest, &in_code,
                                 err);
    if (rc)
        goto out;
    if (in_code) {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_IN_CODE",
                            "workflow %s is compiled into the server; a definition registered "
                            "as data needs a name of its own",
                            wf->name);
        goto out;
    }
    if (prev && strcmp(prev_digest, orch_definition_digest(d)) == 0) {
        res->version = max_version; /* identical: the latest version stays */
        goto out;
    }
    if (prev) {
        rc = check_kinds(w, wf->name, req->definition, err);
        if (rc)
            goto out;
    }
    /* The real version now: messages and the rendered steps carry it. */
    orch_definition_free(d);
    d = NULL;
    rc = orch_definition_compile(req->definition, max_version + 1, w->cat, "definition", &d, err);
    if (rc)
        goto out;
    wf = orch_definition_workflow(d);
    rc = render(wf, &steps_json, steps_digest, err);
    if (rc)
        goto out;
    products = orch_definition_products(d, &nproducts);
    {
        orch_wf_reg_t reg = {wf->name,    wf->description, orch_workflow_target_name(wf->target),
                             wf->is_task, wf->version,     steps_json,
                             steps_digest};
        rc = st->catalog->wfdef_insert(st, tx, NULL, &reg, orch_definition_text(d),
                                       orch_definition_digest(d), products, nproducts,
                                       req->actor_name, err);
    }
    if (!rc)
        rc = st->audit->record(st, tx, NULL, req->actor_kind ? req->actor_kind : "",
                               req->actor_name ? req->actor_name : "",
                               req->method ? req->method : "RegisterWorkflow", wf->name, "", err);
    if (rc)
        goto out;
    rc = st->uow->commit(tx, err);
    tx = NULL;
    if (rc)
        goto out;
    res->version = wf->version;
    res->created = true;
    /* Runnable here at once: a StartProcess right after this answer finds it. */
    pthread_mutex_lock(&w->mu);
    rc = install_locked(w, d, err);
    pthread_mutex_unlock(&w->mu);
    d = NULL;
    if (!rc)
        res->replicas_missing = wait_for_replicas(w, res->name, res->version);
out:
    if (tx)
        st->uow->rollback(tx);
    orch_definition_free(d);
    free(prev);
    free(steps_json);
    return rc;
}
