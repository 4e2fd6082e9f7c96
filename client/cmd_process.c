/* orchctl process ...: orchestrator.v1.ProcessService: start (with form pages), read, list,
 * the operator actions, callbacks, counts, and the WatchProcess / WatchProcesses streams. */
#include "base/ctx.h"
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"
#include "orchestrator/v1/processes.pb-c.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SVC "/orchestrator.v1.ProcessService/"

typedef Orchestrator__V1__Process process_t;

static const char *pstatus(int v, char *buf, size_t size)
{
    return cli_enum_name(&orchestrator__v1__process_status__descriptor, v, buf, size);
}

/* ---- shared views ---- */

/* A form page: its title and a table of the fields its JSON Schema asks for. */
static void print_form(const Orchestrator__V1__FormPage *f, FILE *out)
{
    fprintf(out, "Form page %d%s%s\n", f->page_index + 1, *f->title ? ": " : "", f->title);
    json_t *j = cli_json_from_message(&f->base);
    json_t *form = json_object_get(j, "form");
    json_t *props = json_object_get(form, "properties");
    json_t *required = json_object_get(form, "required");
    if (json_is_object(props) && json_object_size(props)) {
        const char *h[] = {"FIELD", "TYPE", "REQUIRED", "TITLE"};
        cli_table_t *t = cli_table_new(4, h);
        const char *key;
        json_t *p;
        json_object_foreach(props, key, p)
        {
            bool req = false;
            size_t i;
            json_t *r;
            json_array_foreach(required, i,
                               r) if (json_is_string(r) && strcmp(json_string_value(r), key) == 0)
                req = true;
            const char *type = json_string_value(json_object_get(p, "type"));
            const char *title = json_string_value(json_object_get(p, "title"));
            const char *row[] = {key, type ? type : "", req ? "yes" : "no", title ? title : ""};
            cli_table_add_row(t, row);
        }
        cli_table_print(t, out, 2);
        cli_table_free(t);
    } else if (form) {
        char *s = json_dumps(form, JSON_INDENT(2));
        fprintf(out, "%s\n", s ? s : "");
        free(s);
    }
    json_decref(j);
}

static void print_error(const Orchestrator__V1__ProcessError *e, int indent)
{
    printf("%*s%s%s%s\n", indent, "", e->reason, *e->reason ? ": " : "", e->message);
    for (size_t i = 0; i < e->n_causes; i++)
        printf("%*scaused by: %s\n", indent + 2, "", e->causes[i]);
}

static void print_process(const ProtobufCMessage *m)
{
    const process_t *p = (const process_t *)m;
    char st[64], start[64], upd[64], end[64], next[64], steps[48], target[64];
    char *wf = p->workflow
                   ? orch_asprintf("%s v%d (%s%s)", p->workflow->name, p->workflow->version,
                                   cli_enum_name(&orchestrator__v1__workflow_target__descriptor,
                                                 p->workflow->target, target, sizeof(target)),
                                   p->is_task ? ", task" : "")
                   : orch_strdup("-");
    char *by = p->created_by ? orch_asprintf("%s", p->created_by->name) : orch_strdup("-");
    size_t cap = 1;
    for (size_t i = 0; i < p->n_subscription_ids; i++)
        cap += strlen(p->subscription_ids[i]) + 2;
    char *subs = orch_calloc(1, cap);
    for (size_t i = 0; i < p->n_subscription_ids; i++) {
        if (i)
            strcat(subs, ", ");
        strcat(subs, p->subscription_ids[i]);
    }
    snprintf(steps, sizeof(steps), "%d of %d", p->steps_done, p->steps_total);
    const char *rows[][2] = {
        {"ID:", p->process_id},
        {"Workflow:", wf},
        {"Status:", pstatus(p->status, st, sizeof(st))},
        {"Last step:", p->last_step},
        {"Steps done:", steps},
        {"Assignee:", p->assignee},
        {"Created by:", by},
        {"Product:", p->product_id},
        {"Subscriptions:", subs},
        {"Customer:", p->customer_id},
        {"Note:", p->note},
        {"Started:", cli_ts(p->start_time, start, sizeof(start))},
        {"Updated:", cli_ts(p->update_time, upd, sizeof(upd))},
        {"Ended:", cli_ts(p->end_time, end, sizeof(end))},
        {"Next run:", p->next_run_time ? cli_ts(p->next_run_time, next, sizeof(next)) : ""},
    };
    cli_print_fields(rows, sizeof(rows) / sizeof(rows[0]), stdout);
    free(wf);
    free(by);
    free(subs);

    if (p->error) {
        printf("\nError:\n");
        print_error(p->error, 2);
    }
    if (p->form) {
        printf("\nWaiting for input. ");
        print_form(p->form, stdout);
    }
    if (p->pending_callback) {
        char c[64], d[64];
        printf("\nWaiting for a callback on step %s since %s (deadline %s)\n",
               p->pending_callback->step_key,
               cli_ts(p->pending_callback->create_time, c, sizeof(c)),
               cli_ts(p->pending_callback->deadline_time, d, sizeof(d)));
        if (*p->pending_callback->last_progress_message)
            printf("  last progress: %s\n", p->pending_callback->last_progress_message);
    }
    if (p->pending_task) {
        const Orchestrator__V1__PendingTask *pt = p->pending_task;
        char c[64], d[64];
        printf("\nWaiting for a step worker on step %s (task type %s) since %s (deadline %s)\n",
               pt->step_key, pt->task_type, cli_ts(pt->create_time, c, sizeof(c)),
               cli_ts(pt->deadline_time, d, sizeof(d)));
        printf("  %s; attempt %d of %d\n", pt->waiting_reason, (int)pt->attempt,
               (int)pt->max_attempts);
        if (*pt->last_progress_message)
            printf("  last progress: %s\n", pt->last_progress_message);
        if (*pt->last_error_message)
            printf("  last failure: %s\n", pt->last_error_message);
    }
    if (p->n_steps) {
        printf("\nSteps:\n");
        const char *sh[] = {"STEP", "STATUS", "KIND", "STARTED", "ENDED", "BY", "ERROR"};
        cli_table_t *t = cli_table_new(7, sh);
        for (size_t i = 0; i < p->n_steps; i++) {
            const Orchestrator__V1__ProcessStep *s = p->steps[i];
            char ss[64], kind[64], b[64], e[64];
            char *name = orch_asprintf("%s%s%s%s", *s->parent_key ? "  " : "", s->name,
                                       *s->branch ? " @" : "", s->branch);
            char *err = s->error ? orch_asprintf("%s%s", s->error->reason,
                                                 s->retry_count ? " (repeated)" : "")
                                 : orch_strdup("");
            const char *row[] = {name,
                                 cli_enum_name(&orchestrator__v1__step_status__descriptor,
                                               s->status, ss, sizeof(ss)),
                                 cli_enum_name(&orchestrator__v1__step_kind__descriptor, s->kind,
                                               kind, sizeof(kind)),
                                 s->start_time ? cli_ts(s->start_time, b, sizeof(b)) : "",
                                 s->end_time ? cli_ts(s->end_time, e, sizeof(e)) : "",
                                 s->executed_by ? s->executed_by->name : "",
                                 err};
            cli_table_add_row(t, row);
            free(name);
            free(err);
        }
        cli_table_print(t, stdout, 2);
        cli_table_free(t);
    }
    if (p->current_state && p->current_state->n_fields) {
        printf("\nState:\n");
        json_t *j = cli_json_from_message(&p->base);
        cli_print_json_text(json_object_get(j, "current_state"), stdout, 2);
        json_decref(j);
    }
}

/* The answers of every --input, in order; the array and each Struct are malloc'ed. */
/* Asks for one form page on the terminal, field by field (choices by number or value, the
 * default on an empty line), and returns the answers as a Struct (caller frees). */
static int prompt_page(const Orchestrator__V1__FormPage *f, Google__Protobuf__Struct **out)
{
    json_t *j = cli_json_from_message(&f->base), *answers = json_object();
    json_t *form = json_object_get(j, "form"), *props = json_object_get(form, "properties");
    json_t *required = json_object_get(form, "required"), *p;
    const char *key;
    char *line = NULL, *text;
    size_t cap = 0;
    int err;

    fprintf(stderr, "Form page %d%s%s\n", f->page_index + 1, *f->title ? ": " : "", f->title);
    json_object_foreach(props, key, p)
    {
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *title = json_string_value(json_object_get(p, "title"));
        json_t *choices = json_object_get(p, "enum"), *dflt = json_object_get(p, "default"), *r;
        bool req = false;
        size_t i;
        ssize_t got;

        if (json_is_true(json_object_get(p, "readOnly")))
            continue;
        json_array_foreach(required, i, r) if (json_is_string(r) &&
                                               strcmp(json_string_value(r), key) == 0) req = true;
        if (json_is_array(choices) && json_array_size(choices)) {
            json_t *c;
            json_array_foreach(choices, i, c)
            {
                char *cs = json_dumps(c, JSON_ENCODE_ANY);
                fprintf(stderr, "    %zu) %s\n", i + 1, cs ? cs : "");
                free(cs);
            }
        }
        for (;;) {
            char *d = dflt ? json_dumps(dflt, JSON_ENCODE_ANY) : NULL;
            json_t *v = NULL;
            fprintf(stderr, "  %s%s%s%s%s: ", title ? title : key, req ? " *" : "", d ? " [" : "",
                    d ? d : "", d ? "]" : "");
            free(d);
            got = getline(&line, &cap, stdin);
            if (got < 0) {
                err = cli_usage_error("the form was not completed (end of input)");
                goto out;
            }
            line[strcspn(line, "\n")] = '\0';
            if (!*line) {
                if (dflt)
                    json_object_set(answers, key, dflt);
                if (dflt || !req)
                    break;
                fprintf(stderr, "  (required)\n");
                continue;
            }
            if (json_is_array(choices)) {
                char *end;
                long n = strtol(line, &end, 10);
                if (!*end && n >= 1 && (size_t)n <= json_array_size(choices))
                    v = json_incref(json_array_get(choices, (size_t)n - 1));
            }
            if (!v && type && strcmp(type, "integer") == 0) {
                char *end;
                long long n = strtoll(line, &end, 10);
                if (*end) {
                    fprintf(stderr, "  (a whole number, please)\n");
                    continue;
                }
                v = json_integer(n);
            } else if (!v && type && strcmp(type, "boolean") == 0) {
                v = json_boolean(strchr("yYtT1", line[0]) != NULL);
            } else if (!v && type && strcmp(type, "array") == 0) {
                v = json_array();
                for (char *tok = strtok(line, ","); tok; tok = strtok(NULL, ","))
                    json_array_append_new(v, json_string(tok + strspn(tok, " ")));
            } else if (!v) {
                v = json_string(line);
            }
            json_object_set_new(answers, key, v);
            break;
        }
    }
    text = json_dumps(answers, JSON_COMPACT);
    err = cli_read_struct("the answers", text, out);
    free(text);
out:
    free(line);
    json_decref(answers);
    json_decref(j);
    return err;
}

static int read_inputs(const cli_args_t *args, Google__Protobuf__Struct ***out, size_t *n)
{
    const char *const *specs = cli_args_list(args, "input", n);
    *out = NULL;
    if (!*n)
        return 0;
    *out = orch_calloc(*n, sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        int err = cli_read_struct("--input", specs[i], &(*out)[i]);
        if (err) {
            for (size_t k = 0; k < i; k++)
                protobuf_c_message_free_unpacked(&(*out)[k]->base, NULL);
            free(*out);
            *out = NULL;
            return err;
        }
    }
    return 0;
}

static void free_inputs(Google__Protobuf__Struct **in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&in[i]->base, NULL);
    free(in);
}

/* A response that is a process or the next form page (start, resume). */
static int print_process_or_form(const cli_ctx_t *ctx, const ProtobufCMessage *resp,
                                 const process_t *p, const Orchestrator__V1__FormPage *page,
                                 int outcome, const char *verb)
{
    if (ctx->json) {
        int rc = cli_output(ctx, resp, NULL);
        return rc ? rc : p ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
    }
    if (p) {
        char st[64];
        printf("Process %s %s: %s%s\n", p->process_id, verb, pstatus(p->status, st, sizeof(st)),
               cli_outcome_note(outcome));
        return CLI_EXIT_OK;
    }
    if (page) {
        fprintf(stderr, "More input needed; nothing was changed. Answer this page with one more "
                        "--input:\n");
        print_form(page, stderr);
    }
    return CLI_EXIT_REFUSED;
}

static int watch_one(cli_ctx_t *ctx, const char *id, long long after);

/* ---- start, get, list ---- */

int cli_cmd_process_start(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    const char *product = cli_args_get(args, "product");
    const char *sub = cli_args_get(args, "subscription");
    const char *note = cli_args_get(args, "note");
    char pbuf[37], sbuf[37], *workflow = NULL;
    ProtobufCMessage *resp = NULL;
    Google__Protobuf__Struct **inputs;
    size_t ninputs;
    int err;

    /* Names and starts of ids become what the API wants before anything is read. */
    if ((err = cli_workflow_arg(ctx, args->pos[0], &workflow)) ||
        (product && (err = cli_product_arg(ctx, product, pbuf, &req.product_id))) ||
        (sub && (err = cli_subscription_arg(ctx, sub, sbuf, &req.subscription_id)))) {
        free(workflow);
        return err;
    }
    if ((err = read_inputs(args, &inputs, &ninputs))) {
        free(workflow);
        return err;
    }
    req.workflow_name = workflow;
    if (note)
        req.note = (char *)note;
    req.request_id = cli_request_id(args);
    /* On a terminal, answer the form page by page; otherwise the pages come from --input and
     * an incomplete form is reported. */
    for (;;) {
        const Orchestrator__V1__StartProcessResponse *r;
        Google__Protobuf__Struct *page = NULL;
        req.user_inputs = inputs;
        req.n_user_inputs = ninputs;
        if ((err = cli_call(ctx, SVC "StartProcess", &req.base,
                            &orchestrator__v1__start_process_response__descriptor, &resp)))
            break;
        r = (const Orchestrator__V1__StartProcessResponse *)resp;
        if (r->result_case != ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE ||
            !isatty(STDIN_FILENO) || ctx->json)
            break;
        if ((err = prompt_page(r->next_page, &page)))
            break;
        inputs = orch_realloc(inputs, (ninputs + 1) * sizeof(*inputs));
        inputs[ninputs++] = page;
        cli_msg_free(resp);
        resp = NULL;
    }
    if (!err) {
        const Orchestrator__V1__StartProcessResponse *r =
            (const Orchestrator__V1__StartProcessResponse *)resp;
        const process_t *p =
            r->result_case == ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_PROCESS ? r->process
                                                                                       : NULL;
        const Orchestrator__V1__FormPage *page =
            r->result_case == ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE
                ? r->next_page
                : NULL;
        err = print_process_or_form(ctx, resp, p, page, r->outcome, "started");
        if (!err && p && cli_args_get(args, "watch")) {
            fflush(stdout);
            char *id = orch_strdup(p->process_id);
            err = watch_one(ctx, id, 0);
            free(id);
        }
    }
    cli_msg_free(resp);
    free_inputs(inputs, ninputs);
    free(workflow);
    return err;
}

int cli_cmd_process_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    const char *view = cli_args_get(args, "view");
    char id[37];
    int v = 0, err;
    if (view &&
        (err = cli_parse_enum("--view", &orchestrator__v1__process_view__descriptor, view, &v)))
        return err;
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.view = (Orchestrator__V1__ProcessView)v;
    return cli_call_print(ctx, SVC "GetProcess", &req.base, &orchestrator__v1__process__descriptor,
                          print_process);
}

static const char *const process_list_headers[] = {"ID",    "WORKFLOW", "STATUS",      "LAST STEP",
                                                   "STEPS", "STARTED",  "SUBSCRIPTION"};

/* A row of the process list table. */
static void process_list_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const process_t *p = (const process_t *)item;
    char st[64], steps[48], start[64];
    snprintf(steps, sizeof(steps), "%d/%d", p->steps_done, p->steps_total);
    const char *row[] = {p->process_id,
                         p->workflow ? p->workflow->name : "",
                         pstatus(p->status, st, sizeof(st)),
                         p->last_step,
                         steps,
                         cli_ts(p->start_time, start, sizeof(start)),
                         p->n_subscription_ids ? p->subscription_ids[0] : ""};
    cli_table_add_row(t, row);
}

int cli_cmd_process_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListProcessesRequest req = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
    const char *order = cli_args_get(args, "order-by");
    if (order)
        req.order_by = (char *)order;
    return cli_list_run(ctx, args, &req.base, SVC "ListProcesses",
                        &orchestrator__v1__list_processes_response__descriptor, "processes", 7,
                        process_list_headers, process_list_row);
}

/* ---- actions ---- */

int cli_cmd_process_resume(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ResumeProcessRequest req = ORCHESTRATOR__V1__RESUME_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    Google__Protobuf__Struct **inputs;
    size_t ninputs;
    char id[37];
    int err;
    if ((err = read_inputs(args, &inputs, &ninputs)))
        return err;
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.user_inputs = inputs;
    req.n_user_inputs = ninputs;
    req.request_id = cli_request_id(args);
    if (!(err = cli_call(ctx, SVC "ResumeProcess", &req.base,
                         &orchestrator__v1__resume_process_response__descriptor, &resp))) {
        const Orchestrator__V1__ResumeProcessResponse *r =
            (const Orchestrator__V1__ResumeProcessResponse *)resp;
        err = print_process_or_form(
            ctx, resp,
            r->result_case == ORCHESTRATOR__V1__RESUME_PROCESS_RESPONSE__RESULT_PROCESS ? r->process
                                                                                        : NULL,
            r->result_case == ORCHESTRATOR__V1__RESUME_PROCESS_RESPONSE__RESULT_NEXT_PAGE
                ? r->next_page
                : NULL,
            r->outcome, "resumed");
    }
    cli_msg_free(resp);
    free_inputs(inputs, ninputs);
    return err;
}

/* Calls an action answered by {process, outcome} and prints "Process ID VERB: status". */
static int call_action(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *resp_desc, const char *verb)
{
    ProtobufCMessage *resp = NULL;
    int err = cli_call(ctx, method, req, resp_desc, &resp);
    if (!err && ctx->json) {
        err = cli_output(ctx, resp, NULL);
    } else if (!err) {
        const process_t *p = *(const process_t *const *)cli_msg_field(resp, "process");
        int outcome = *(const int *)cli_msg_field(resp, "outcome");
        char st[64];
        printf("Process %s %s: %s%s\n", p ? p->process_id : "?", verb,
               p ? pstatus(p->status, st, sizeof(st)) : "?", cli_outcome_note(outcome));
    }
    cli_msg_free(resp);
    return err;
}

int cli_cmd_process_retry(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__RetryProcessRequest req = ORCHESTRATOR__V1__RETRY_PROCESS_REQUEST__INIT;
    size_t nb;
    const char *const *branches = cli_args_list(args, "branch", &nb);
    char id[37];
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.branches = (char **)branches;
    req.n_branches = nb;
    req.request_id = cli_request_id(args);
    return call_action(ctx, SVC "RetryProcess", &req.base,
                       &orchestrator__v1__retry_process_response__descriptor, "retried");
}

int cli_cmd_process_abort(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
    const char *reason = cli_args_get(args, "reason");
    char id[37];
    req.process_id = (char *)cli_id(args->pos[0], id);
    if (reason)
        req.reason = (char *)reason;
    req.request_id = cli_request_id(args);
    return call_action(ctx, SVC "AbortProcess", &req.base,
                       &orchestrator__v1__abort_process_response__descriptor, "aborted");
}

int cli_cmd_process_delete(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__DeleteProcessRequest req = ORCHESTRATOR__V1__DELETE_PROCESS_REQUEST__INIT;
    char id[37];
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.request_id = cli_request_id(args);
    return cli_call_confirm(ctx, SVC "DeleteProcess", &req.base,
                            &orchestrator__v1__delete_process_response__descriptor,
                            "Process %s deleted", req.process_id);
}

int cli_cmd_process_note(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__UpdateProcessNoteRequest req =
        ORCHESTRATOR__V1__UPDATE_PROCESS_NOTE_REQUEST__INIT;
    char id[37];
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.note = (char *)args->pos[1];
    req.request_id = cli_request_id(args);
    return cli_call_print(ctx, SVC "UpdateProcessNote", &req.base,
                          &orchestrator__v1__process__descriptor, print_process);
}

static void print_counts(const ProtobufCMessage *m)
{
    const Orchestrator__V1__GetProcessStatusCountsResponse *r =
        (const Orchestrator__V1__GetProcessStatusCountsResponse *)m;
    const char *h[] = {"STATUS", "WORKFLOWS", "TASKS"};
    cli_table_t *t = cli_table_new(3, h);
    const ProtobufCEnumDescriptor *d = &orchestrator__v1__process_status__descriptor;
    for (unsigned v = 0; v < d->n_values; v++) {
        int value = d->values[v].value;
        long long w = -1, k = -1;
        for (size_t i = 0; i < r->n_process_counts; i++)
            if ((int)r->process_counts[i]->status == value)
                w = (long long)r->process_counts[i]->count;
        for (size_t i = 0; i < r->n_task_counts; i++)
            if ((int)r->task_counts[i]->status == value)
                k = (long long)r->task_counts[i]->count;
        if (w < 0 && k < 0)
            continue;
        char st[64], ws[32], ks[32];
        snprintf(ws, sizeof(ws), "%lld", w < 0 ? 0 : w);
        snprintf(ks, sizeof(ks), "%lld", k < 0 ? 0 : k);
        const char *row[] = {pstatus(value, st, sizeof(st)), ws, ks};
        cli_table_add_row(t, row);
    }
    cli_table_print(t, stdout, 0);
    cli_table_free(t);
}

int cli_cmd_process_counts(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetProcessStatusCountsRequest req =
        ORCHESTRATOR__V1__GET_PROCESS_STATUS_COUNTS_REQUEST__INIT;
    const char *filter = cli_args_get(args, "filter");
    if (filter)
        req.filter = (char *)filter;
    return cli_call_print(ctx, SVC "GetProcessStatusCounts", &req.base,
                          &orchestrator__v1__get_process_status_counts_response__descriptor,
                          print_counts);
}

static void print_bulk(const ProtobufCMessage *m)
{
    const Orchestrator__V1__BulkResumeResponse *r = (const Orchestrator__V1__BulkResumeResponse *)m;
    printf("Resumed %d task(s)\n", r->resumed_count);
    for (size_t i = 0; i < r->n_resumed_process_ids; i++)
        printf("  %s\n", r->resumed_process_ids[i]);
    if (r->n_failures) {
        printf("Not resumed:\n");
        const char *h[] = {"PROCESS", "REASON", "MESSAGE"};
        cli_table_t *t = cli_table_new(3, h);
        for (size_t i = 0; i < r->n_failures; i++) {
            const char *row[] = {r->failures[i]->process_id, r->failures[i]->reason,
                                 r->failures[i]->message};
            cli_table_add_row(t, row);
        }
        cli_table_print(t, stdout, 2);
        cli_table_free(t);
    }
}

int cli_cmd_process_bulk_resume(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__BulkResumeRequest req = ORCHESTRATOR__V1__BULK_RESUME_REQUEST__INIT;
    const char *filter = cli_args_get(args, "filter");
    if (filter)
        req.filter = (char *)filter;
    req.request_id = cli_request_id(args);
    return cli_call_print(ctx, SVC "BulkResume", &req.base,
                          &orchestrator__v1__bulk_resume_response__descriptor, print_bulk);
}

/* ---- callbacks ---- */

int cli_cmd_process_callback_deliver(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__DeliverCallbackRequest req = ORCHESTRATOR__V1__DELIVER_CALLBACK_REQUEST__INIT;
    const char *result = cli_args_get(args, "result");
    Google__Protobuf__Struct *res = NULL;
    ProtobufCMessage *resp = NULL;
    char id[37];
    int err;
    if ((err = cli_read_struct("--result", result ? result : "{}", &res)))
        return err;
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.callback_token = (char *)args->pos[1];
    req.result = res;
    req.request_id = cli_request_id(args);
    if (!(err = cli_call(ctx, SVC "DeliverCallback", &req.base,
                         &orchestrator__v1__deliver_callback_response__descriptor, &resp))) {
        const Orchestrator__V1__DeliverCallbackResponse *r =
            (const Orchestrator__V1__DeliverCallbackResponse *)resp;
        char st[64];
        if (ctx->json)
            err = cli_output(ctx, resp, NULL);
        else
            printf("Callback delivered; process %s is %s%s\n", req.process_id,
                   pstatus(r->status, st, sizeof(st)), cli_outcome_note(r->outcome));
    }
    protobuf_c_message_free_unpacked(&res->base, NULL);
    cli_msg_free(resp);
    return err;
}

int cli_cmd_process_callback_progress(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ReportCallbackProgressRequest req =
        ORCHESTRATOR__V1__REPORT_CALLBACK_PROGRESS_REQUEST__INIT;
    const char *progress = cli_args_get(args, "progress");
    Google__Protobuf__Struct *pr = NULL;
    char id[37];
    int err;
    if (progress && (err = cli_read_struct("--progress", progress, &pr)))
        return err;
    req.process_id = (char *)cli_id(args->pos[0], id);
    req.callback_token = (char *)args->pos[1];
    req.message = (char *)args->pos[2];
    req.progress = pr;
    req.request_id = cli_request_id(args);
    err = cli_call_confirm(ctx, SVC "ReportCallbackProgress", &req.base,
                           &orchestrator__v1__report_callback_progress_response__descriptor,
                           "Progress reported");
    if (pr)
        protobuf_c_message_free_unpacked(&pr->base, NULL);
    return err;
}

/* ---- watch ---- */

/* One progress line per event. */
static void print_event(const Orchestrator__V1__ProcessEvent *e, bool with_id)
{
    char when[64], a[64], b[64];
    printf("%s", cli_ts(e->event_time, when, sizeof(when)));
    if (with_id)
        printf("  %s", e->process_id);
    printf("  #%lld  ", (long long)e->sequence);
    switch (e->payload_case) {
    case ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_SNAPSHOT: {
        const process_t *p = e->snapshot->process;
        if (!p)
            break;
        printf("%s: %s, step %d of %d%s%s", p->workflow ? p->workflow->name : "process",
               pstatus(p->status, a, sizeof(a)), p->steps_done, p->steps_total,
               *p->last_step ? ", last " : "", p->last_step);
        if (e->snapshot->current_step)
            printf(", running %s", e->snapshot->current_step->name);
        break;
    }
    case ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STEP: {
        const Orchestrator__V1__ProcessStep *s = e->step;
        printf("step %s: %s", s->name,
               cli_enum_name(&orchestrator__v1__step_status__descriptor, s->status, a, sizeof(a)));
        if (s->error)
            printf(" (%s%s%s)", s->error->reason, *s->error->message ? ": " : "",
                   s->error->message);
        break;
    }
    case ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STATUS_CHANGE: {
        const Orchestrator__V1__ProcessStatusChange *c = e->status_change;
        printf("%s -> %s", pstatus(c->old_status, a, sizeof(a)),
               pstatus(c->new_status, b, sizeof(b)));
        if (c->error)
            printf(" (%s%s%s)", c->error->reason, *c->error->message ? ": " : "",
                   c->error->message);
        if (c->actor && *c->actor->name)
            printf(" by %s", c->actor->name);
        if (c->form)
            printf(" (waiting for form page %d%s%s)", c->form->page_index + 1,
                   *c->form->title ? ": " : "", c->form->title);
        break;
    }
    case ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_CALLBACK_PROGRESS:
        printf("callback %s: %s", e->callback_progress->step_key, e->callback_progress->message);
        break;
    default:
        printf("event %d", (int)e->kind);
        break;
    }
    fputc('\n', stdout);
}

/* Steps done / total and the step running, as the events tell. */
static void progress(const Orchestrator__V1__ProcessEvent *e, int *done, int *total, char *cur,
                     size_t cap)
{
    if (e->payload_case == ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_SNAPSHOT &&
        e->snapshot->process) {
        *done = e->snapshot->process->steps_done;
        *total = e->snapshot->process->steps_total;
        snprintf(cur, cap, "%s", e->snapshot->process->last_step);
    } else if (e->payload_case == ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STEP) {
        if (e->step->status == ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS ||
            e->step->status == ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SKIPPED)
            (*done)++;
        if (*total && *done > *total)
            *total = *done;
        snprintf(cur, cap, "%s", e->step->name);
    }
}

static void draw_bar(int done, int total, const char *cur, int64_t elapsed_ms)
{
    char bar[31];
    int width = 30, fill = total > 0 ? done * width / total : 0;
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    printf("\r\033[K[%s] %d/%d  %.40s  %.1fs", bar, done, total, cur, (double)elapsed_ms / 1000.0);
    fflush(stdout);
}

/* The status the event leaves the process in, or 0 when it does not say. */
static int event_status(const Orchestrator__V1__ProcessEvent *e)
{
    if (e->payload_case == ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STATUS_CHANGE)
        return e->status_change->new_status;
    if (e->payload_case == ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_SNAPSHOT &&
        e->snapshot->process)
        return e->snapshot->process->status;
    return 0;
}

/* Runs a watch stream to its end. With one process (stop_at_end), stops after it completed
 * (exit 0) or was aborted (exit 1). */
static int run_watch(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
                     bool one_process)
{
    cli_stream_t *s = cli_stream_open(cli_ctx_channel(ctx), method, req, ctx->timeout_ms);
    int last = 0, err, done = 0, total = 0;
    /* A live bar for a person watching one process on a terminal; JSON lines for scripts
     * (piped output, or --json); a line per event otherwise. */
    bool json = ctx->json || !isatty(STDOUT_FILENO);
    bool bar = one_process && !json;
    char current[128] = "";
    int64_t t0 = orch_now_ms();
    for (;;) {
        ProtobufCMessage *m = NULL;
        int r = cli_stream_next(s, &orchestrator__v1__process_event__descriptor, 1000, &m);
        if (r < 0)
            continue;
        if (r == 0)
            break;
        const Orchestrator__V1__ProcessEvent *e = (const Orchestrator__V1__ProcessEvent *)m;
        if (bar) {
            progress(e, &done, &total, current, sizeof(current));
            if (e->payload_case == ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STATUS_CHANGE) {
                fputs("\r\033[K", stdout);
                print_event(e, false);
            }
            draw_bar(done, total, current, orch_now_ms() - t0);
        } else if (json) {
            cli_json_print_line(m, stdout);
        } else {
            print_event(e, !one_process);
        }
        fflush(stdout);
        if (event_status(e))
            last = event_status(e);
        protobuf_c_message_free_unpacked(m, NULL);
        if (one_process && (last == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED ||
                            last == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_ABORTED))
            break;
    }
    if (bar)
        fputc('\n', stdout);
    cli_status_t st;
    cli_stream_close(s, &st);
    if (one_process && last == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED)
        err = CLI_EXIT_OK;
    else if (one_process && last == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_ABORTED)
        err = CLI_EXIT_ERROR;
    else
        err = st.code == 0 ? CLI_EXIT_OK : cli_report_call(&st, method);
    cli_status_cleanup(&st);
    return err;
}

static int watch_one(cli_ctx_t *ctx, const char *id, long long after)
{
    Orchestrator__V1__WatchProcessRequest req = ORCHESTRATOR__V1__WATCH_PROCESS_REQUEST__INIT;
    req.process_id = (char *)id;
    req.after_sequence = after;
    return run_watch(ctx, SVC "WatchProcess", &req.base, true);
}

int cli_cmd_process_watch(cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *after = cli_args_get(args, "after-sequence");
    const char *filter = cli_args_get(args, "filter");
    const char *cursor = cli_args_get(args, "after-cursor");
    long long seq = 0;
    int err;
    if (args->npos == 1) {
        char id[37];
        if (filter || cursor)
            return cli_usage_error("--filter and --after-cursor are for watching many processes "
                                   "(without an ID)");
        if (after && (err = cli_parse_int("--after-sequence", after, 0, INT64_MAX, &seq)))
            return err;
        return watch_one(ctx, cli_id(args->pos[0], id), seq);
    }
    if (after)
        return cli_usage_error("--after-sequence needs a process ID");
    Orchestrator__V1__WatchProcessesRequest req = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    if (filter)
        req.filter = (char *)filter;
    if (cursor)
        req.after_cursor = (char *)cursor;
    return run_watch(ctx, SVC "WatchProcesses", &req.base, false);
}
