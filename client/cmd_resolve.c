/* How orchctl turns what a person types into what the API wants: a product's name into its
 * id, a workflow's id into its name, and the start of a subscription id into the one id it
 * begins. Each is one call to the server; the subscription prefix is resolved by the server
 * with the documented filter `subscription_id = "<start>*"` (a range scan of the primary
 * key), never by listing subscriptions here. */
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"
#include "orchestrator/v1/workflows.pb-c.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Candidates shown for an ambiguous start. */
#define PREFIX_CANDIDATES 10

int cli_product_arg(cli_ctx_t *ctx, const char *arg, char buf[37], char **id)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int err;

    *id = (char *)cli_id(arg, buf);
    if (cli_is_uuid(arg) || !*arg)
        return 0;
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)arg;
    if ((err = cli_call(ctx, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                        &orchestrator__v1__product__descriptor, &resp)))
        return err;
    snprintf(buf, 37, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    *id = buf;
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

int cli_workflow_arg(cli_ctx_t *ctx, const char *arg, char **name)
{
    Orchestrator__V1__GetWorkflowRequest req = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    char id[37];
    int err;

    *name = NULL;
    if (!cli_is_uuid(arg)) {
        *name = orch_strdup(arg);
        return 0;
    }
    req.key_case = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__KEY_WORKFLOW_ID;
    req.workflow_id = (char *)cli_id(arg, id);
    if ((err = cli_call(ctx, "/orchestrator.v1.WorkflowService/GetWorkflow", &req.base,
                        &orchestrator__v1__workflow__descriptor, &resp)))
        return err;
    *name = orch_strdup(((Orchestrator__V1__Workflow *)resp)->name);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* Hex digits with hyphens where an id has them, shorter than an id: the start of one. Sets
 * *digits to the number of hex digits. */
static bool is_id_start(const char *s, size_t *digits)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    size_t i;
    *digits = 0;
    for (i = 0; s[i]; i++) {
        if (i >= sizeof(pattern) - 2)
            return false;
        if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
        *digits += s[i] != '-';
    }
    return i > 0;
}

static void print_candidates(const Orchestrator__V1__ListSubscriptionsResponse *r)
{
    const char *h[] = {"ID", "PRODUCT", "STATUS", "DESCRIPTION"};
    cli_table_t *t = cli_table_new(4, h);
    for (size_t i = 0; i < r->n_subscriptions; i++) {
        const Orchestrator__V1__Subscription *s = r->subscriptions[i];
        char st[32];
        const char *row[] = {s->subscription_id, s->product ? s->product->name : "",
                             cli_enum_name(&orchestrator__v1__subscription_status__descriptor,
                                           s->status, st, sizeof(st)),
                             s->description};
        cli_table_add_row(t, row);
    }
    cli_table_print(t, stderr, 2);
    cli_table_free(t);
    if (r->total_size > (int32_t)r->n_subscriptions)
        fprintf(stderr, "  ... and %d more\n", r->total_size - (int)r->n_subscriptions);
}

int cli_subscription_arg(cli_ctx_t *ctx, const char *arg, char buf[37], char **id)
{
    Orchestrator__V1__ListSubscriptionsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    const Orchestrator__V1__ListSubscriptionsResponse *r;
    char filter[64], start[37];
    size_t digits, i;
    int err;

    *id = (char *)cli_id(arg, buf);
    if (cli_is_uuid(arg) || !is_id_start(arg, &digits))
        return 0; /* a whole id, or not an id at all: the server names the bad field */
    if (digits < 8)
        return cli_usage_error("'%s' is too short to name a subscription: give its id or at "
                               "least its first 8 characters",
                               arg);
    for (i = 0; arg[i]; i++)
        start[i] = (char)tolower((unsigned char)arg[i]);
    start[i] = '\0';
    snprintf(filter, sizeof(filter), "subscription_id = \"%s*\"", start);
    req.filter = filter;
    req.page_size = PREFIX_CANDIDATES;
    req.view = ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_BASIC;
    req.order_by = "create_time";
    if ((err = cli_call(ctx, "/orchestrator.v1.SubscriptionService/ListSubscriptions", &req.base,
                        &orchestrator__v1__list_subscriptions_response__descriptor, &resp)))
        return err;
    r = (const Orchestrator__V1__ListSubscriptionsResponse *)resp;
    if (r->n_subscriptions == 1 && r->total_size == 1) {
        snprintf(buf, 37, "%s", r->subscriptions[0]->subscription_id);
        *id = buf;
        err = 0;
    } else if (r->n_subscriptions == 0) {
        fprintf(stderr, "error: no subscription id starts with '%s'\n", start);
        err = CLI_EXIT_NOT_FOUND;
    } else {
        fprintf(stderr,
                "error: '%s' is the start of %d subscription ids; give more of the one you "
                "mean:\n",
                start, r->total_size);
        print_candidates(r);
        err = CLI_EXIT_USAGE;
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return err;
}
