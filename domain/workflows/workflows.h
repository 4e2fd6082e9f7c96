/* The workflows this build ships: the built-in tasks (tasks.h), modify_note (note.c), and the
 * workflows of the product modules of domain/products/ (the example products node, port,
 * core_link and l2vpn among them, products.h). The test workflows and the broken fixtures of
 * the start-up checks are not here: they live in the test binary's library
 * (tests/testbin/testbin.h). */
#ifndef ORCH_WORKFLOWS_H
#define ORCH_WORKFLOWS_H

#include "domain/engine/engine.h"

/* modify_note (note.c): every product lists it. */
extern const orch_workflow_def_t orch_wf_modify_note;
/* The same with its symbol, {0}-terminated (registered by orch_workflows_register_all). */
extern const orch_wf_entry_t orch_wf_note_all[];
/* Every workflow orch_workflows_register_all registers, in that order, with its symbol: the
 * tasks, modify_note, the product modules' workflows, then extra ({0}-terminated; NULL:
 * none). Sets *out (caller frees with free()) and returns the count. */
size_t orch_workflows_list(const orch_wf_entry_t *extra, orch_wf_entry_t **out);

#endif
