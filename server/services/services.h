/* The dispatch tables of every service, one per file in server/services/. main.c registers
 * each with srv_server_add_methods. */
#ifndef SRV_SERVICES_H
#define SRV_SERVICES_H

#include "server/rpc/server.h"

extern const srv_method_t srv_product_methods[];
extern const srv_method_t srv_health_methods[];
extern const srv_method_t srv_subscription_methods[];
extern const srv_method_t srv_process_methods[];
extern const srv_method_t srv_workflow_methods[];
extern const srv_method_t srv_engine_methods[];
/* EngineService: ListReplicas and the schedules (schedules.c). */
extern const srv_method_t srv_schedule_methods[];
extern const srv_method_t srv_watch_methods[];
extern const srv_method_t srv_reflection_methods[];
/* StepWorkerService (workers.c). */
extern const srv_method_t srv_worker_methods[];
/* WorkflowService.RegisterWorkflow: workflows as data (definitions.c). */
extern const srv_method_t srv_definition_methods[];

#endif
