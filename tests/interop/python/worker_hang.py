#!/usr/bin/python3
"""A step worker that never finishes its step (test_workers.py kills it in the middle): it
writes the task id and its attempt token to <dir>/token, then sleeps.

Usage: worker_hang.py ADDR TOKEN DIR (PYTHONPATH holds orchestrator_worker and the code
generated from proto/)."""
import os
import sys
import time

from orchestrator_worker import Worker

addr, token, out = sys.argv[1:4]
worker = Worker(addr, name="py-victim", capacity=1, token=token)


@worker.step("network.push_config")
def push(state, task):
    with open(os.path.join(out, "token.tmp"), "w") as f:
        f.write(f"{task.task_id} {task.attempt_token}\n")
    os.rename(os.path.join(out, "token.tmp"), os.path.join(out, "token"))
    time.sleep(600)
    return {"config_pushed": True}


worker.run()
