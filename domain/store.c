/* Helpers around the store interface's result types. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

void orch_sub_page_cleanup(orch_sub_page_t *page)
{
    for (size_t i = 0; i < page->n; i++)
        orch_subscription_free(page->items[i]);
    free(page->items);
    free(page->next_token);
    memset(page, 0, sizeof(*page));
}

void orch_sub_id_page_cleanup(orch_sub_id_page_t *page)
{
    free(page->ids);
    free(page->stamps);
    free(page->next_token);
    memset(page, 0, sizeof(*page));
}

/* Here, beside the other records of the store interface, and not in db/: whoever holds a
 * task (the server's worker hub) frees it without linking the PostgreSQL store. */
void orch_worker_task_cleanup(orch_worker_task_t *t)
{
    if (!t)
        return;
    json_decref(t->state);
    memset(t, 0, sizeof(*t));
}
