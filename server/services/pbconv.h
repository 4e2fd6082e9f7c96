/* Conversions shared by the engine's services (processes.c, workflows.c). */
#ifndef SRV_PBCONV_H
#define SRV_PBCONV_H

#include "domain/process.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/rpc/server.h"

/* "CREATE" ... -> the WorkflowTarget number (0 when unknown). */
int srv_target_from_name(const char *name);
/* A Process in the call's arena; full: with steps (log then pending) and current state. */
Orchestrator__V1__Process *srv_process_to_pb(srv_call_t *call, const orch_process_t *p, bool full);

#endif
