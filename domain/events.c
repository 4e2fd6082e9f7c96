/* Process event rows. */
#include "events.h"

#include <stdlib.h>

void orch_events_free(orch_event_t *ev, size_t n)
{
    for (size_t i = 0; ev && i < n; i++) {
        json_decref(ev[i].payload);
        json_decref(ev[i].fields);
    }
    free(ev);
}
