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
