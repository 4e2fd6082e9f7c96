/* The join of a parallel step: which branch processes are settled, what a branch changed,
 * and the outcome the parent commits once all of them are (the branches' results merged
 * under their names, or the failure naming the branches that did not complete). Pure: the
 * worker reads the branch runs under the parent's row lock and commits the outcome. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"

bool orch_branch_settled(const char *status)
{
    static const char *const settled[] = {"completed",         "failed",  "api_unavailable",
                                          "inconsistent_data", "aborted", NULL};
    for (size_t i = 0; status && settled[i]; i++)
        if (strcmp(status, settled[i]) == 0)
            return true;
    return false;
}

json_t *orch_branch_result(const json_t *initial, const json_t *final)
{
    json_t *r = json_object();
    const char *k;
    json_t *v;
    if (!json_is_object(final))
        return r;
    json_object_foreach((json_t *) final, k, v)
    {
        json_t *old = json_is_object(initial) ? json_object_get(initial, k) : NULL;
        if (!old || !json_equal(old, v))
            json_object_set(r, k, v);
    }
    return r;
}

void orch_parallel_join(const orch_leaf_t *leaf, const orch_branch_run_t *runs, size_t n,
                        const json_t *state, int attempt, orch_outcome_t *out)
{
    json_t *failed = json_array(), *errors = json_object(), *delta = json_object();
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        const orch_branch_run_t *b = &runs[i];
        if (strcmp(b->status, "completed") == 0) {
            json_object_set_new(delta, b->name, orch_branch_result(b->initial, b->final));
            continue;
        }
        json_array_append_new(failed, json_string(b->name));
        json_object_set_new(
            errors, b->name,
            json_pack("{s:s, s:s, s:s}", "status", b->status, "reason",
                      orch_state_str(b->failed_details, "reason",
                                     strcmp(b->status, "aborted") == 0 ? "ABORTED" : "STEP_FAILED"),
                      "message", b->failed_reason ? b->failed_reason : ""));
    }
    if (json_array_size(failed) == 0) {
        out->step_status = "success";
        out->process_status = "running";
        out->runnable = true;
        out->state = orch_state_merge(state, delta);
        out->delta = delta;
        json_decref(failed);
        json_decref(errors);
        return;
    }
    {
        size_t len = 1;
        char *names;
        for (size_t i = 0; i < json_array_size(failed); i++)
            len += strlen(json_string_value(json_array_get(failed, i))) + 2;
        names = orch_calloc(1, len);
        for (size_t i = 0; i < json_array_size(failed); i++) {
            if (i)
                strcat(names, ", ");
            strcat(names, json_string_value(json_array_get(failed, i)));
        }
        out->step_status = "failed";
        out->process_status = "failed";
        out->retry_count = attempt + 1;
        out->state = json_deep_copy(state);
        out->delta = json_object();
        out->error = json_pack("{s:s, s:s, s:{s:o, s:o}}", "reason", "PARALLEL_BRANCH_FAILED",
                               "message", "", "details", "failed", failed, "errors", errors);
        {
            char *msg = orch_asprintf("parallel step %s: branch%s %s did not complete; "
                                      "RetryProcess re-runs only the failed branches",
                                      leaf->key, json_array_size(failed) == 1 ? "" : "es", names);
            json_object_set_new(out->error, "message", json_string(msg));
            free(msg);
        }
        free(names);
        json_decref(delta);
    }
}
