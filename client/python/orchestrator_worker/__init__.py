"""A step worker for the orchestrator: run remote steps of workflows in Python.

    from orchestrator_worker import Worker

    worker = Worker("127.0.0.1:50051", name="netbot-1", capacity=4)

    @worker.step("network.push_config")
    def push(state):
        ...  # talk to the device
        return {"config_pushed": True}

    worker.run()  # until SIGTERM / SIGINT or worker.stop(): then a graceful stop

See client/python/README.md and docs/WORKERS.md.
"""
from .worker import StepFailed, Task, Worker, load_protos

__all__ = ["Worker", "Task", "StepFailed", "load_protos"]
