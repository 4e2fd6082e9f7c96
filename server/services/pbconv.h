/* Conversions shared by the services (processes.c, workflows.c, subscriptions.c). */
#ifndef SRV_PBCONV_H
#define SRV_PBCONV_H

#include "domain/process.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/rpc/server.h"

/* "CREATE" ... -> the WorkflowTarget number (0 when unknown). */
int srv_target_from_name(const char *name);
/* How much of a process srv_process_to_pb builds: the attributes; with the steps (log then
 * pending), their deltas, the current state and what it waits for; and each step's whole
 * state too (ProcessView BASIC, DELTAS, FULL). */
typedef enum { SRV_PROCESS_BASIC, SRV_PROCESS_DELTAS, SRV_PROCESS_FULL } srv_process_view_t;
/* A Process in the call's arena, as much of it as view says. */
Orchestrator__V1__Process *srv_process_to_pb(srv_call_t *call, const orch_process_t *p,
                                             srv_process_view_t view);
/* The BASIC view in arena a, which needs no call: a message packed at once can be built in an
 * arena freed right after, not in the call's (a watch snapshot, so that an idle watcher does
 * not keep it). */
Orchestrator__V1__Process *srv_process_basic_pb(orch_arena_t *a, const orch_process_t *p);
/* A ProductRef (common.proto) in arena a, the strings copied (NULL -> ""). Workflows and
 * subscriptions name their products with it; one builder keeps the two answers alike. */
Orchestrator__V1__ProductRef *srv_product_ref_pb(orch_arena_t *a, const char *id, const char *name,
                                                 const char *product_type, const char *tag);
/* The first page of the form the input step step_key of p asks for (what a suspended
 * process waits for), in arena a; NULL when that step has no form. */
struct srv_app;
Orchestrator__V1__FormPage *srv_process_form_pb(struct srv_app *app, orch_arena_t *a,
                                                const orch_ctx_t *ctx, const orch_process_t *p,
                                                const char *step_key);

#endif
