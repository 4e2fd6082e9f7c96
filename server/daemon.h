/* The daemon as a library entry: orchestratord's main() and the test binary's
 * (orchestratord-test, tests/testbin/main.c) both call orch_daemon_main. What a program
 * adds to the shipped daemon comes in orch_daemon_extras_t; orchestratord adds nothing. */
#ifndef ORCH_SERVER_DAEMON_H
#define ORCH_SERVER_DAEMON_H

#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"
#include "domain/engine/worker.h"

typedef struct orch_daemon_extras {
    /* Workflows registered (and checked at start-up) after the shipped ones and the product
     * modules'; {0}-terminated; NULL: none. Borrowed for the daemon's lifetime. */
    const orch_wf_entry_t *workflows;
    /* Called with the catalogue once the example's and the product modules' products are
     * in, before it is validated and checked. NULL: nothing. */
    void (*catalog_extend)(orch_catalog_t *cat);
    /* Called once, just before the engine starts (after the configuration, so that what it
     * logs is in the configured format): the engine's hooks, or NULL. NULL: none. */
    const orch_engine_hooks_t *(*engine_hooks)(void);
} orch_daemon_extras_t;

/* Reads the configuration from argv and the environment, migrates the database,
 * synchronises the catalogue, serves gRPC until SIGINT/SIGTERM (SIGHUP reloads the
 * authentication keys), then drains. Returns the process's exit status: 0 after a drain,
 * --help, --version or --migrate=only; 2 on a usage error; 1 when it cannot start.
 * extras may be NULL. */
int orch_daemon_main(int argc, char **argv, const orch_daemon_extras_t *extras);

#endif
