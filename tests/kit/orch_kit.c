/* The test kit for workflow authors (orch_kit.h): a real server per kit, gRPC calls, and
 * assertions that fail with the process's story rather than a bare "0 != 1". */
#include "orch_kit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"
#include "output.h"
#include "server/rpc/codec.h"

#define PS "/orchestrator.v1.ProcessService/"

struct kit {
    harness_server_t server;
    bool task; /* the pending start sends neither product nor subscription */
    char cbdir[256];
    char workflow[128];
    char product_id[64]; /* of the pending create */
    char process_id[64]; /* "" before a start */
    char subscription_id[64];
    json_t *pages;        /* answers of the pending start or resume (array) */
    bool pending_start;   /* pages belong to a start that asked for more */
    bool pending_resume;  /* pages belong to a resume that asked for more */
    json_t *page;         /* the next page's schema, or NULL */
    json_t *process;      /* the last GetProcess, as JSON */
    json_t *subscription; /* the last GetSubscription, as JSON */
    char error[2048];     /* the last refusal */
    char *steps_line;
    char *state_text;
    char *got_text;  /* the value a failed assertion found (freed with the kit: the
                        failure jumps out of the assertion) */
    cli_status_t st; /* the last refusal's status (violations) */
};

static void msleep(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static void set_json(json_t **slot, json_t *v)
{
    json_decref(*slot);
    *slot = v;
}

/* ---- life ---------------------------------------------------------------------------------- */

kit_t *kit_new(const char *const *extra_args)
{
    kit_t *k = calloc(1, sizeof(*k));
    assert_non_null(k);
    /* mkdtemp, not a name from the process id: a folder a killed run left behind under a
     * reused id made the next kit fail to start. */
    snprintf(k->cbdir, sizeof(k->cbdir), "/tmp/orch-kit-XXXXXX");
    if (!mkdtemp(k->cbdir))
        fail_msg("kit: cannot create a folder from %s", k->cbdir);
    /* The server inherits it: the simulated external systems hand their tokens over here. */
    setenv("ORCH_SIM_CALLBACK_DIR", k->cbdir, 1);
    k->pages = json_array();
    harness_server_start(&k->server, NULL, extra_args);
    return k;
}

static void remove_dir(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "kit: could not remove %s\n", dir);
}

void kit_free(kit_t *k)
{
    int rc;
    if (!k)
        return;
    rc = harness_server_stop(&k->server);
    harness_db_drop(k->server.dbname);
    remove_dir(k->cbdir);
    json_decref(k->pages);
    json_decref(k->page);
    json_decref(k->process);
    json_decref(k->subscription);
    free(k->steps_line);
    free(k->state_text);
    free(k->got_text);
    cli_status_cleanup(&k->st);
    free(k);
    if (rc != 0)
        fail_msg("kit: orchestratord exited with %d (its log is printed above)", rc);
}

int kit_setup(void **state)
{
    *state = kit_new(NULL);
    return 0;
}

int kit_teardown(void **state)
{
    kit_free(*state);
    *state = NULL;
    return 0;
}

harness_server_t *kit_server(kit_t *k)
{
    return &k->server;
}

/* ---- calls --------------------------------------------------------------------------------- */

static void product_id(kit_t *k, const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(k->server.ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    if (st.code != 0)
        fail_msg("kit: no product named '%s': %s %s", name, cli_status_code_name(st.code),
                 st.message);
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

/* "{...}" -> [{...}]; "[...]" as is; NULL -> []. Fails the test on text that is not JSON. */
static json_t *parse_pages(const char *text)
{
    json_error_t e;
    json_t *j;
    if (!text || !*text)
        return json_array();
    j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("kit: the answers are not JSON (%s at %d): %s", e.text, e.position, text);
    if (json_is_object(j)) {
        json_t *a = json_array();
        json_array_append_new(a, j);
        return a;
    }
    if (!json_is_array(j))
        fail_msg("kit: the answers must be an object (one page) or an array of pages: %s", text);
    return j;
}

static Google__Protobuf__Struct **pages_to_pb(orch_arena_t *a, const json_t *pages, size_t *n)
{
    Google__Protobuf__Struct **out;
    *n = json_array_size(pages);
    out = orch_arena_alloc(a, (*n + 1) * sizeof(void *));
    for (size_t i = 0; i < *n; i++)
        out[i] = srv_codec_struct_from_json(a, json_array_get(pages, i));
    return out;
}

static void record_refusal(kit_t *k, const char *what, cli_status_t *st)
{
    size_t len;
    cli_status_cleanup(&k->st);
    k->st = *st;
    memset(st, 0, sizeof(*st));
    len = (size_t)snprintf(k->error, sizeof(k->error), "%s %s: %s: %s", what, k->workflow,
                           cli_status_code_name(k->st.code), k->st.message);
    for (size_t i = 0; i < k->st.nviolations && len < sizeof(k->error); i++)
        len += (size_t)snprintf(k->error + len, sizeof(k->error) - len, "; %s: %s",
                                k->st.violations[i].field, k->st.violations[i].description);
}

static void take_page(kit_t *k, const Orchestrator__V1__FormPage *p)
{
    set_json(&k->page, srv_codec_json_from_struct(p->form));
}

/* StartProcess with k->pages. */
static int send_start(kit_t *k)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    Orchestrator__V1__StartProcessResponse *r;
    int code;

    req.workflow_name = k->workflow;
    req.product_id = k->product_id;
    req.subscription_id = k->product_id[0] || k->task ? "" : k->subscription_id;
    req.user_inputs = pages_to_pb(a, k->pages, &req.n_user_inputs);
    cli_call_unary(k->server.ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    orch_arena_free(a);
    code = st.code;
    if (code != 0) {
        record_refusal(k, "StartProcess", &st);
        /* The refused page is not kept: the next answer replaces it. */
        json_array_remove(k->pages, json_array_size(k->pages) - 1);
        return code;
    }
    r = (Orchestrator__V1__StartProcessResponse *)resp;
    if (r->result_case == ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE) {
        k->pending_start = true;
        take_page(k, r->next_page);
    } else {
        k->pending_start = false;
        set_json(&k->page, NULL);
        json_array_clear(k->pages);
        snprintf(k->process_id, sizeof(k->process_id), "%s", r->process->process_id);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return 0;
}

static int start_common(kit_t *k, const char *workflow, const char *product, const char *pages)
{
    k->task = false;
    snprintf(k->workflow, sizeof(k->workflow), "%s", workflow);
    k->product_id[0] = '\0';
    if (product)
        product_id(k, product, k->product_id);
    k->process_id[0] = '\0';
    k->pending_resume = false;
    set_json(&k->page, NULL);
    set_json(&k->pages, parse_pages(pages));
    {
        /* A refused first start keeps none of its pages. */
        int code = send_start(k);
        if (code != 0)
            json_array_clear(k->pages);
        return code;
    }
}

int kit_try_create(kit_t *k, const char *workflow, const char *product, const char *pages)
{
    return start_common(k, workflow, product, pages);
}

int kit_try_start(kit_t *k, const char *workflow, const char *pages)
{
    return start_common(k, workflow, NULL, pages);
}

void kit_start_task(kit_t *k, const char *workflow, const char *pages)
{
    int code;
    k->task = true;
    snprintf(k->workflow, sizeof(k->workflow), "%s", workflow);
    k->product_id[0] = '\0';
    k->process_id[0] = '\0';
    k->pending_resume = false;
    set_json(&k->page, NULL);
    set_json(&k->pages, parse_pages(pages));
    code = send_start(k);
    if (code != 0)
        fail_msg("kit: %s", k->error);
}

void kit_create(kit_t *k, const char *workflow, const char *product, const char *pages)
{
    if (kit_try_create(k, workflow, product, pages) != 0)
        fail_msg("kit: %s", k->error);
}

void kit_start(kit_t *k, const char *workflow, const char *pages)
{
    if (kit_try_start(k, workflow, pages) != 0)
        fail_msg("kit: %s", k->error);
}

const char *kit_error(const kit_t *k)
{
    return k->error;
}

bool kit_has_violation(const kit_t *k, const char *field)
{
    for (size_t i = 0; i < k->st.nviolations; i++)
        if (strcmp(k->st.violations[i].field, field) == 0)
            return true;
    return false;
}

static void refresh_process(kit_t *k)
{
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    if (!k->process_id[0])
        fail_msg("kit: no process: %s", k->pending_start
                                            ? "the start form waits for another page "
                                              "(kit_answer_page)"
                                            : "start one first (kit_create / kit_start)");
    req.process_id = k->process_id;
    cli_call_unary(k->server.ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor,
                   5000, &resp, &st);
    if (st.code != 0)
        fail_msg("kit: GetProcess %s: %s %s", k->process_id, cli_status_code_name(st.code),
                 st.message);
    set_json(&k->process, cli_json_from_message(resp));
    {
        Orchestrator__V1__Process *p = (Orchestrator__V1__Process *)resp;
        const char *sub = kit_state_str(k, "subscription_id");
        if (sub && *sub)
            snprintf(k->subscription_id, sizeof(k->subscription_id), "%s", sub);
        if (p->status == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED && p->form &&
            !k->pending_resume)
            take_page(k, p->form);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static int send_resume(kit_t *k)
{
    Orchestrator__V1__ResumeProcessRequest req = ORCHESTRATOR__V1__RESUME_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    Orchestrator__V1__ResumeProcessResponse *r;
    int code;

    req.process_id = k->process_id;
    req.user_inputs = pages_to_pb(a, k->pages, &req.n_user_inputs);
    cli_call_unary(k->server.ch, PS "ResumeProcess", &req.base,
                   &orchestrator__v1__resume_process_response__descriptor, 10000, &resp, &st);
    orch_arena_free(a);
    code = st.code;
    if (code != 0) {
        record_refusal(k, "ResumeProcess", &st);
        json_array_remove(k->pages, json_array_size(k->pages) - 1);
        return code;
    }
    r = (Orchestrator__V1__ResumeProcessResponse *)resp;
    if (r->result_case == ORCHESTRATOR__V1__RESUME_PROCESS_RESPONSE__RESULT_NEXT_PAGE) {
        k->pending_resume = true;
        take_page(k, r->next_page);
    } else {
        k->pending_resume = false;
        set_json(&k->page, NULL);
        json_array_clear(k->pages);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return 0;
}

const json_t *kit_page(kit_t *k)
{
    if (!k->pending_start && !k->pending_resume && k->process_id[0])
        refresh_process(k);
    return k->page;
}

int kit_try_answer_page(kit_t *k, const char *page)
{
    json_t *p = parse_pages(page);
    for (size_t i = 0; i < json_array_size(p); i++)
        json_array_append(k->pages, json_array_get(p, i));
    json_decref(p);
    if (k->pending_start)
        return send_start(k);
    if (!k->process_id[0])
        fail_msg("kit: no form waits for an answer: start a workflow first");
    if (!k->pending_resume) {
        const char *status;
        refresh_process(k);
        status = json_string_value(json_object_get(k->process, "status"));
        if (!status || strcmp(status, "suspended") != 0)
            fail_msg("kit: process %s of %s is %s, not suspended on an input step; steps: %s",
                     k->process_id, k->workflow, status ? status : "?", kit_steps(k));
    }
    return send_resume(k);
}

void kit_answer_page(kit_t *k, const char *page)
{
    if (kit_try_answer_page(k, page) != 0)
        fail_msg("kit: %s", k->error);
}

/* ---- running ------------------------------------------------------------------------------- */

static const char *error_text(kit_t *k)
{
    const json_t *e = json_object_get(k->process, "error");
    const char *m = json_string_value(json_object_get(e, "message"));
    const char *r = json_string_value(json_object_get(e, "reason"));
    static char buf[1200];
    if (!m || !*m)
        return "no error";
    snprintf(buf, sizeof(buf), "%s: %s", r ? r : "", m);
    return buf;
}

/* Statuses a process leaves only when someone acts (or never). */
static bool resting(const char *s)
{
    static const char *const r[] = {"completed", "suspended",       "awaiting_callback", "failed",
                                    "aborted",   "api_unavailable", "inconsistent_data", NULL};
    for (size_t i = 0; r[i]; i++)
        if (strcmp(s, r[i]) == 0)
            return true;
    return false;
}

void kit_wait(kit_t *k, const char *status)
{
    for (int i = 0; i < 300; i++) {
        const char *s;
        refresh_process(k);
        s = json_string_value(json_object_get(k->process, "status"));
        if (s && strcmp(s, status) == 0)
            return;
        /* Waiting (retry back-off) moves on by itself; any other resting status will not
         * become the one asked for. */
        if (s && resting(s))
            fail_msg("kit: process %s of %s is %s, not %s; last step %s (%s); steps: %s",
                     k->process_id, k->workflow, s, status,
                     json_string_value(json_object_get(k->process, "last_step_key")), error_text(k),
                     kit_steps(k));
        msleep(100);
    }
    fail_msg("kit: process %s of %s did not become %s within 30 s; it is %s; steps: %s",
             k->process_id, k->workflow, status,
             json_string_value(json_object_get(k->process, "status")), kit_steps(k));
}

void kit_callback(kit_t *k, const char *result)
{
    Orchestrator__V1__DeliverCallbackRequest req = ORCHESTRATOR__V1__DELIVER_CALLBACK_REQUEST__INIT;
    orch_arena_t *a;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    char path[600], token[128] = "";
    const char *step;
    json_t *j;
    FILE *f;

    kit_wait(k, "awaiting_callback");
    step = json_string_value(
        json_object_get(json_object_get(k->process, "pending_callback"), "step_key"));
    if (!step || !*step)
        step = json_string_value(json_object_get(k->process, "last_step_key"));
    snprintf(path, sizeof(path), "%s/%s.%s", k->cbdir, k->process_id, step ? step : "");
    f = fopen(path, "r");
    if (!f)
        fail_msg("kit: step %s of %s awaits a callback but handed no token to the simulated "
                 "system (%s): does its action call orch_step_sim_callback?",
                 step ? step : "?", k->workflow, path);
    if (!fgets(token, sizeof(token), f))
        token[0] = '\0';
    fclose(f);
    j = json_loads(result && *result ? result : "{}", 0, NULL);
    if (!json_is_object(j))
        fail_msg("kit: the callback result is not a JSON object: %s", result);
    a = orch_arena_new();
    req.process_id = k->process_id;
    req.callback_token = token;
    req.result = srv_codec_struct_from_json(a, j);
    cli_call_unary(k->server.ch, PS "DeliverCallback", &req.base,
                   &orchestrator__v1__deliver_callback_response__descriptor, 5000, &resp, &st);
    json_decref(j);
    orch_arena_free(a);
    if (st.code != 0)
        fail_msg("kit: DeliverCallback to %s of %s: %s %s", step, k->process_id,
                 cli_status_code_name(st.code), st.message);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

const char *kit_callback_dir(const kit_t *k)
{
    return k->cbdir;
}

const char *kit_process_id(const kit_t *k)
{
    return k->process_id;
}

void kit_use_process(kit_t *k, const char *process_id)
{
    snprintf(k->process_id, sizeof(k->process_id), "%s", process_id);
    k->pending_start = k->pending_resume = false;
    json_array_clear(k->pages);
    refresh_process(k);
    {
        const char *wf =
            json_string_value(json_object_get(json_object_get(k->process, "workflow"), "name"));
        snprintf(k->workflow, sizeof(k->workflow), "%s", wf ? wf : "?");
    }
}

/* ---- asserting ----------------------------------------------------------------------------- */

const json_t *kit_process(kit_t *k)
{
    refresh_process(k);
    return k->process;
}

/* The step list of the last read (no refresh). */
static const char *step_status_of(kit_t *k, const char *key)
{
    const json_t *steps = json_object_get(k->process, "steps");
    const char *found = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *kk = json_string_value(json_object_get(s, "key"));
        const char *st = json_string_value(json_object_get(s, "status"));
        /* The last audit row wins; the pending row that follows a suspended or waiting
         * step's row only counts when the step has no row at all. */
        if (kk && st && strcmp(kk, key) == 0 && (!found || strcmp(st, "pending") != 0))
            found = st;
    }
    return found;
}

const char *kit_step_status(kit_t *k, const char *key)
{
    refresh_process(k);
    return step_status_of(k, key);
}

void kit_assert_step(kit_t *k, const char *key, const char *status)
{
    const char *s = kit_step_status(k, key);
    if (!s)
        fail_msg("kit: %s has no step %s; steps: %s", k->workflow, key, kit_steps(k));
    if (strcmp(s, status) != 0)
        fail_msg("kit: step %s of %s is %s, expected %s (%s); steps: %s", key, k->workflow, s,
                 status, error_text(k), kit_steps(k));
}

const char *kit_steps(kit_t *k)
{
    const json_t *steps = json_object_get(k->process, "steps");
    size_t i, len = 0, cap = 64;
    json_t *s;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    json_array_foreach(steps, i, s)
    {
        const char *key = json_string_value(json_object_get(s, "key"));
        const char *st = json_string_value(json_object_get(s, "status"));
        size_t need = strlen(key ? key : "") + strlen(st ? st : "") + 3;
        if (len + need + 1 > cap) {
            cap = (len + need + 1) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s", len ? " " : "", key ? key : "",
                                st ? st : "");
    }
    free(k->steps_line);
    k->steps_line = out;
    return out;
}

const json_t *kit_state(kit_t *k, const char *key)
{
    refresh_process(k);
    return json_object_get(json_object_get(k->process, "current_state"), key);
}

const char *kit_state_str(kit_t *k, const char *key)
{
    /* No refresh here: refresh_process itself reads the subscription id through it. */
    const json_t *v = json_object_get(json_object_get(k->process, "current_state"), key);
    free(k->state_text);
    k->state_text = NULL;
    if (!v)
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    k->state_text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return k->state_text;
}

const json_t *kit_subscription(kit_t *k)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    if (!k->subscription_id[0] && k->process_id[0])
        refresh_process(k);
    if (!k->subscription_id[0])
        fail_msg("kit: no subscription yet: the process's state has no subscription_id");
    req.subscription_id = k->subscription_id;
    cli_call_unary(k->server.ch, "/orchestrator.v1.SubscriptionService/GetSubscription", &req.base,
                   &orchestrator__v1__subscription__descriptor, 5000, &resp, &st);
    if (st.code != 0)
        fail_msg("kit: GetSubscription %s: %s %s", k->subscription_id,
                 cli_status_code_name(st.code), st.message);
    set_json(&k->subscription, cli_json_from_message(resp));
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return k->subscription;
}

const char *kit_subscription_id(const kit_t *k)
{
    return k->subscription_id;
}

void kit_use_subscription(kit_t *k, const char *subscription_id)
{
    snprintf(k->subscription_id, sizeof(k->subscription_id), "%s", subscription_id);
}

/* "a.b[2].c" inside node. */
static const json_t *walk(const json_t *node, const char *path)
{
    char part[256];
    while (node && *path) {
        size_t n = strcspn(path, ".[");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        path += n;
        if (n)
            node = json_object_get(node, part);
        if (*path == '[') {
            char *end;
            long idx = strtol(path + 1, &end, 10);
            if (*end != ']')
                return NULL;
            node = json_array_get(node, (size_t)idx);
            path = end + 1;
        }
        if (*path == '.')
            path++;
    }
    return node;
}

const json_t *kit_sub_get(kit_t *k, const char *path)
{
    const json_t *sub = kit_subscription(k), *v;
    const json_t *model = json_object_get(sub, "domain_model");
    if (!strchr(path, '.') && !strchr(path, '[') && (v = json_object_get(sub, path)))
        return v;
    return walk(json_object_get(model, "block"), path);
}

/* Numbers cross the wire as google.protobuf.Value doubles: 5000 comes back as 5000.0.
 * Equal when equal as JSON after whole reals became integers. */
static json_t *normalized(const json_t *v)
{
    json_t *out;
    if (json_is_real(v) && json_real_value(v) == (double)(json_int_t)json_real_value(v))
        return json_integer((json_int_t)json_real_value(v));
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        out = json_array();
        json_array_foreach(v, i, x) json_array_append_new(out, normalized(x));
        return out;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        out = json_object();
        json_object_foreach((json_t *)v, key, x) json_object_set_new(out, key, normalized(x));
        return out;
    }
    return json_deep_copy(v);
}

static bool same(const json_t *a, const json_t *b)
{
    json_t *na = normalized(a), *nb = normalized(b);
    bool eq = json_equal(na, nb);
    json_decref(na);
    json_decref(nb);
    return eq;
}

void kit_assert_sub(kit_t *k, const char *path, const char *expected)
{
    const json_t *v = kit_sub_get(k, path);
    json_t *want = json_loads(expected, JSON_DECODE_ANY, NULL);
    char *got;
    if (!want)
        fail_msg("kit: kit_assert_sub(%s): the expected value is not JSON: %s (a string is "
                 "written \"\\\"text\\\"\")",
                 path, expected);
    if (v && same(v, want)) {
        json_decref(want);
        return;
    }
    json_decref(want);
    free(k->got_text);
    k->got_text = got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    fail_msg("kit: subscription %s: %s is %s, expected %s", k->subscription_id, path,
             got ? got : "absent", expected);
}

void kit_assert_state(kit_t *k, const char *key, const char *expected)
{
    const json_t *v = kit_state(k, key);
    json_t *want = json_loads(expected, JSON_DECODE_ANY, NULL);
    char *got;
    if (!want)
        fail_msg("kit: kit_assert_state(%s): the expected value is not JSON: %s", key, expected);
    if (v && same(v, want)) {
        json_decref(want);
        return;
    }
    json_decref(want);
    free(k->got_text);
    k->got_text = got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    fail_msg("kit: process %s of %s: state.%s is %s, expected %s", k->process_id, k->workflow, key,
             got ? got : "absent", expected);
}
