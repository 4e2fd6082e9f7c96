/* SQL text the store files share for writing a row of process_steps from inside a statement
 * (a sweep, an answer, a resume): the row's sequence number and the state it carries on.
 * Each takes pid, an SQL expression for the process id ("$1", "u.process_id"). */
#ifndef DB_STEP_SQL_H
#define DB_STEP_SQL_H

/* The sequence number of the process's next step row: one past its last, 1 for the first. */
#define DB_NEXT_STEP_SEQ(pid)                                                                      \
    "coalesce((SELECT max(prev.sequence) FROM process_steps prev WHERE prev.process_id = " pid     \
    "), 0) + 1"

/* The process's state as its last step left it; before any step, its initial state; else
 * an empty object. Its row's state with the deltas of a stretch's steps after it (0022:
 * orch_process_state folds them). */
#define DB_LAST_STATE(pid) "coalesce(orch_process_state(" pid "), '{}'::jsonb)"

#endif
