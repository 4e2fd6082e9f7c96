#!/usr/bin/python3
"""Interop test: workflows as data (issue 23). Two replicas of orchestratord share one
database, with authentication on; definitions are registered over RegisterWorkflow and their
task steps run in Python workers (client/python). It shows:
  - a definition with three mistakes is refused with INVALID_ARGUMENT and exactly three
    field violations, and a good one runs (its task step in a Python worker);
  - two replicas: a definition registered on replica A runs on replica B, with no restart;
  - registering the same definition again keeps its version; a changed one gets the next,
    while a process of the first version (suspended at its input step) stays on it and ends
    with the first version's steps; a step key that changes kind is refused;
  - definitions whose built-in steps create and terminate a subscription leave it
    terminated, with its fields set.
Needs ORCH_TEST_PGHOST, ORCH_TEST_PGPORT and ORCH_TEST_PGUSER; without them it exits non-zero.

Usage: test_wfdata.py --server-bin PATH --proto-dir DIR
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "client", "python"))
import test_products as tp  # noqa: E402  (generation, database and server helpers)
import test_workers as tw  # noqa: E402  (replicas, workers, psql; shares its CTX)

CTX = tw.CTX
RPC_TIMEOUT = 10.0
struct, psql, wait_for, md = tw.struct, tw.psql, tw.wait_for, tw.md


def log(msg):
    print(f"interop_python_wfdata: {msg}", file=sys.stderr, flush=True)


GREET = {
    "name": "wfdata_greet",
    "description": "Greet someone, in Python",
    "target": "task",
    "form": {"type": "object", "title": "Who",
             "properties": {"who": {"type": "string", "minLength": 1}}, "required": ["who"]},
    "steps": [
        {"key": "greet", "name": "Greet", "kind": "task", "task_type": "wfdata.greet",
         "reads": ["who"], "writes": ["greeting"]},
        {"key": "mark", "name": "Mark it", "kind": "set", "values": {"marked": True},
         "when": {"field": "greeting"}},
    ],
}

VERSIONED_V1 = {
    "name": "wfdata_versioned",
    "target": "task",
    "steps": [
        {"key": "ask", "name": "Ask", "kind": "input",
         "form": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
        {"key": "one", "name": "One", "kind": "set", "values": {"v1_step": True}},
    ],
}


class WfdataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from orchestrator.v1 import processes_pb2, processes_pb2_grpc, workflows_pb2, \
            workflows_pb2_grpc, products_pb2, products_pb2_grpc  # noqa: E402
        cls.ppb, cls.wfpb = processes_pb2, workflows_pb2
        cls.wf_a = workflows_pb2_grpc.WorkflowServiceStub(CTX["chan_a"])
        cls.wf_b = workflows_pb2_grpc.WorkflowServiceStub(CTX["chan_b"])
        cls.proc_a = processes_pb2_grpc.ProcessServiceStub(CTX["chan_a"])
        cls.proc_b = processes_pb2_grpc.ProcessServiceStub(CTX["chan_b"])
        prod = products_pb2_grpc.ProductServiceStub(CTX["chan_a"])
        resp = prod.ListProducts(products_pb2.ListProductsRequest(page_size=100),
                                 timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
        cls.products = {p.name: p.product_id for p in resp.products}

    def register(self, stub, d, token="tok_admin"):
        return stub.RegisterWorkflow(self.wfpb.RegisterWorkflowRequest(definition=struct(d)),
                                     timeout=RPC_TIMEOUT, metadata=md(CTX[token]))

    def start(self, stub, name, inputs=None, **kw):
        # The other replica learns of a new definition from a NOTIFY: a start there may come
        # a moment before it, so NOT_FOUND is retried briefly.
        import grpc
        req = self.ppb.StartProcessRequest(workflow_name=name,
                                           user_inputs=[struct(inputs or {})], **kw)

        def attempt():
            try:
                return stub.StartProcess(req, timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return None
        return wait_for(f"{name} to be startable", attempt, timeout=10).process.process_id

    def status(self, pid):
        return psql(f"SELECT last_status FROM processes WHERE process_id = '{pid}'")

    def wait_completed(self, pid):
        try:
            wait_for(f"{pid} to complete", lambda: self.status(pid) == "completed", timeout=30)
        except AssertionError:
            raise AssertionError(psql(f"SELECT last_status || ': ' || coalesce(failed_reason, "
                                      f"'') FROM processes WHERE process_id = '{pid}'"))

    def bad_fields(self, err):
        ed = CTX["mods"]["error_details_pb2"]
        status = CTX["mods"]["status_pb2"].Status()
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                status.ParseFromString(value)
        fields = []
        for any_msg in status.details:
            if any_msg.Is(ed.BadRequest.DESCRIPTOR):
                bad = ed.BadRequest()
                any_msg.Unpack(bad)
                fields += [(v.field, v.description) for v in bad.field_violations]
        return fields

    # -- the tests -----------------------------------------------------------------------

    def test_1_three_mistakes_then_a_good_one_runs(self):
        import grpc
        bad = {
            "name": "wfdata_broken",
            "target": "modify",
            "products": ["no such product"],                          # 1: unknown product
            "steps": [
                {"key": "push", "kind": "task"},                      # 2: no task type
                {"key": "save", "kind": "set", "values": {"a": 1}},
                {"key": "save", "kind": "set", "values": {"b": 2}},   # 3: key used twice
            ],
        }
        with self.assertRaises(grpc.RpcError) as cm:
            self.register(self.wf_a, bad)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        fields = self.bad_fields(cm.exception)
        log(f"three mistakes: {fields}")
        self.assertEqual(len(fields), 3, fields)
        self.assertEqual(sorted(f for f, _ in fields),
                         ["definition.products[0]", "definition.steps[0].task_type",
                          "definition.steps[2].key"])
        # Admin only.
        with self.assertRaises(grpc.RpcError) as cm:
            self.register(self.wf_a, GREET, token="tok_reader")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

        # The good one, registered on A, runs on B (its task step in a Python worker).
        resp = self.register(self.wf_a, GREET)
        self.assertEqual((resp.name, resp.version, resp.created), ("wfdata_greet", 1, True))
        seen = []

        def greet(state):
            seen.append(state["who"])
            return {"greeting": f"hello {state['who']}"}

        w = tw.WorkerThread("py-greet", greet, task_type="wfdata.greet")
        try:
            pid = self.start(self.proc_b, "wfdata_greet", {"who": "ada"})
            self.wait_completed(pid)
        finally:
            w.stop()
        self.assertEqual(seen, ["ada"])
        self.assertEqual(psql(f"SELECT state->>'greeting' || ' ' || (state->>'marked') FROM "
                              f"processes WHERE process_id = '{pid}'"), "hello ada true")
        # B ran it: the step rows were committed by B's engine (the task step's by the worker).
        self.assertEqual(psql(f"SELECT count(*) FROM process_steps WHERE process_id = '{pid}' "
                              f"AND step_key = 'mark' AND status = 'success'"), "1")

    def test_1b_node_and_python_steps(self):
        d = {
            "name": "wfdata_mixed", "target": "task",
            "steps": [
                {"key": "py", "kind": "task", "task_type": "wfdata.greet"},
                {"key": "js", "kind": "task", "task_type": "wfdata.node"},
            ],
        }
        self.assertEqual(self.register(self.wf_b, d).version, 1)
        node = NodeWorker()
        w = tw.WorkerThread("py-greet-2", lambda state: {"greeting": "hello from python"},
                            task_type="wfdata.greet")
        try:
            pid = self.start(self.proc_a, "wfdata_mixed", {"who": "grace"})
            self.wait_completed(pid)
        finally:
            w.stop()
            node.stop()
        self.assertEqual(psql(f"SELECT (state->>'greeting') || ' / ' || (state->>'node_says') "
                              f"FROM processes WHERE process_id = '{pid}'"),
                         "hello from python / hi grace from node")
        self.assertEqual(psql(f"SELECT string_agg(step_key || ' ' || executed_by, ', ' ORDER BY "
                              f"sequence) FROM process_steps WHERE process_id = '{pid}' AND "
                              f"status = 'success'"),
                         "py netbot/py-greet-2, js netbot/node-greet")

    def test_1c_conditional_task_and_input(self):
        # "when" holds for any step: a task step whose condition fails writes no task and is
        # skipped (no worker is ever asked), an input step whose condition fails does not
        # suspend; where the condition holds, both run.
        d = {
            "name": "wfdata_when", "target": "task",
            "form": {"type": "object", "properties": {"push": {"type": "boolean"},
                                                      "ask": {"type": "boolean"}}},
            "steps": [
                {"key": "push", "kind": "task", "task_type": "wfdata.when",
                 "when": {"field": "push", "equals": True}},
                {"key": "confirm", "kind": "input",
                 "form": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
                 "when": {"field": "ask"}},
                {"key": "after", "kind": "set", "values": {"after": True}},
            ],
        }
        self.assertEqual(self.register(self.wf_a, d).version, 1)
        calls = []
        w = tw.WorkerThread("py-when", lambda state: calls.append(1) or {"pushed": True},
                            task_type="wfdata.when")
        try:
            skipped = self.start(self.proc_a, "wfdata_when", {"push": False, "ask": False})
            self.wait_completed(skipped)
            self.assertEqual(calls, [])
            self.assertEqual(psql(f"SELECT count(*) FROM worker_tasks WHERE process_id = "
                                  f"'{skipped}'"), "0")
            self.assertEqual(psql(f"SELECT string_agg(step_key || ' ' || status, ', ' ORDER BY "
                                  f"sequence) FROM process_steps WHERE process_id = "
                                  f"'{skipped}' AND step_key IN ('push', 'confirm', 'after')"),
                             "push skipped, confirm skipped, after success")
            ran = self.start(self.proc_a, "wfdata_when", {"push": True, "ask": True})
            wait_for("the input step to suspend", lambda: self.status(ran) == "suspended",
                     timeout=30)
            self.assertEqual(calls, [1])
            self.proc_a.ResumeProcess(self.ppb.ResumeProcessRequest(
                process_id=ran, user_inputs=[struct({"ok": True})]),
                timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
            self.wait_completed(ran)
        finally:
            w.stop()
        self.assertEqual(psql(f"SELECT (state->>'pushed') || ' ' || (state->>'ok') || ' ' || "
                              f"(state->>'after') FROM processes WHERE process_id = '{ran}'"),
                         "true true true")

    def test_2_versions(self):
        import grpc
        r1 = self.register(self.wf_a, VERSIONED_V1)
        self.assertEqual((r1.version, r1.created), (1, True))
        # The same definition again keeps its version (keys in another order too).
        again = dict(reversed(list(VERSIONED_V1.items())))
        r1b = self.register(self.wf_b, again)
        self.assertEqual((r1b.version, r1b.created), (1, False))
        p1 = self.start(self.proc_a, "wfdata_versioned")
        wait_for(f"{p1} to suspend", lambda: self.status(p1) == "suspended")
        # A changed definition gets the next version; p1 stays on version 1.
        v2 = dict(VERSIONED_V1)
        v2["steps"] = VERSIONED_V1["steps"] + [
            {"key": "two", "name": "Two", "kind": "set", "values": {"v2_step": True}}]
        r2 = self.register(self.wf_b, v2)
        self.assertEqual((r2.version, r2.created), (2, True))
        # Registered on B, started on A: the answer waited until every live replica ran it.
        self.assertEqual(r2.replicas_pending, 0)
        p2 = self.start(self.proc_a, "wfdata_versioned")
        wait_for(f"{p2} to suspend", lambda: self.status(p2) == "suspended")
        self.assertEqual(psql(f"SELECT workflow_version FROM processes WHERE process_id = "
                              f"'{p1}'"), "1")
        self.assertEqual(psql(f"SELECT workflow_version FROM processes WHERE process_id = "
                              f"'{p2}'"), "2")
        for pid in (p1, p2):
            self.proc_b.ResumeProcess(self.ppb.ResumeProcessRequest(
                process_id=pid, user_inputs=[struct({"ok": True})]),
                timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
            self.wait_completed(pid)
        self.assertEqual(psql(f"SELECT state ? 'v2_step' FROM processes WHERE process_id = "
                              f"'{p1}'"), "f")
        self.assertEqual(psql(f"SELECT state ? 'v2_step' FROM processes WHERE process_id = "
                              f"'{p2}'"), "t")
        # A key that changes kind is refused.
        bad = dict(v2)
        bad["steps"] = [VERSIONED_V1["steps"][0],
                        {"key": "one", "name": "One", "kind": "task", "task_type": "x.y"}]
        with self.assertRaises(grpc.RpcError) as cm:
            self.register(self.wf_a, bad)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual([f for f, _ in self.bad_fields(cm.exception)],
                         ["definition.steps[1].kind"])
        # Also when the key was dropped in between: a key names one step for ever.
        v3 = dict(v2)
        v3["steps"] = [VERSIONED_V1["steps"][0], v2["steps"][2]]
        self.assertEqual(self.register(self.wf_a, v3).version, 3)
        v4 = dict(v2)
        v4["steps"] = v3["steps"] + [
            {"key": "one", "name": "One", "kind": "input",
             "form": {"type": "object", "properties": {"x": {"type": "string"}}}}]
        with self.assertRaises(grpc.RpcError) as cm:
            self.register(self.wf_a, v4)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual([f for f, _ in self.bad_fields(cm.exception)],
                         ["definition.steps[2].kind"])

    def test_4_restart_loads_definitions(self):
        """A replica started after the registrations compiles them at start (its versions'
        steps match the stored ones, or it would refuse to start) and runs them."""
        from orchestrator.v1 import processes_pb2_grpc
        conninfo = CTX["conninfo"]
        pc, addr, chan, log_path = tw.start_server(
            "C", conninfo, tw.SERVER_ARGS + CTX["auth"] + ["--workers", "2"], CTX["env"])
        try:
            proc_c = processes_pb2_grpc.ProcessServiceStub(chan)
            pid = self.start(proc_c, "wfdata_versioned")
            wait_for(f"{pid} to suspend", lambda: self.status(pid) == "suspended")
            self.assertEqual(psql(f"SELECT workflow_version FROM processes WHERE process_id = "
                                  f"'{pid}'"), "3")
            with open(log_path) as f:
                self.assertIn("workflow wfdata_versioned v3 (registered as data) runs here",
                              f.read())
        finally:
            chan.close()
            rc, _ = tp.stop_server(pc)
            self.assertEqual(rc, 0)

    def test_3_builtin_subscription_steps(self):
        fields = ["role_id", "type_id", "site_id", "node_status", "node_name", "ims_id", "nrm_id",
                  "ipv4_ipam_id", "ipv6_ipam_id"]
        create = {
            "name": "wfdata_create_node", "target": "create", "products": ["node FRR"],
            "steps": [{"key": "create", "name": "Create the subscription",
                       "kind": "create_subscription", "fields": {f: f for f in fields}}],
        }
        terminate = {
            "name": "wfdata_terminate_node", "target": "terminate", "products": ["node FRR"],
            "standard_steps": False,
            "steps": [
                {"key": "lock", "kind": "unsync"},
                {"key": "status_field", "kind": "set", "values": {"new_status": "decommissioned"}},
                {"key": "save", "kind": "set_fields", "fields": {"node_status": "new_status"}},
                {"key": "terminated", "kind": "set_status", "status": "terminated"},
                {"key": "unlock", "kind": "resync"},
                {"key": "done", "kind": "done"},
            ],
        }
        self.register(self.wf_a, create)
        self.register(self.wf_a, terminate)
        inputs = {"customer_id": "acme-wfdata", "role_id": 1, "type_id": 2, "site_id": 3,
                  "node_status": "active", "node_name": f"wfdata-{os.getpid()}", "ims_id": 11,
                  "nrm_id": 12, "ipv4_ipam_id": 13, "ipv6_ipam_id": 14}
        pid = self.start(self.proc_b, "wfdata_create_node", inputs,
                         product_id=self.products["node FRR"])
        self.wait_completed(pid)
        sub = psql(f"SELECT state->>'subscription_id' FROM processes WHERE process_id = '{pid}'")
        self.assertEqual(psql(f"SELECT status || ' ' || in_sync FROM subscriptions WHERE "
                              f"subscription_id = '{sub}'"), "active true")
        pid2 = self.start(self.proc_b, "wfdata_terminate_node", {}, subscription_id=sub)
        self.wait_completed(pid2)
        self.assertEqual(psql(f"SELECT status || ' ' || in_sync FROM subscriptions WHERE "
                              f"subscription_id = '{sub}'"), "terminated true")
        self.assertEqual(psql(
            "SELECT string_agg(rt.resource_type || '=' || v.value, ',' ORDER BY rt.resource_type) "
            "FROM subscription_instance_values v JOIN subscription_instances i USING "
            "(subscription_instance_id) JOIN resource_types rt USING (resource_type_id) "
            f"WHERE i.subscription_id = '{sub}' AND rt.resource_type IN ('node_name', "
            "'node_status', 'ims_id')"),
            f"ims_id=11,node_name=wfdata-{os.getpid()},node_status=decommissioned")


NODE_WORKER = r"""
const [, lib, addr, token] = process.argv;  // node -e CODE -- LIB ADDR TOKEN
const { Worker } = require(lib);
const w = new Worker(addr, { name: 'node-greet', token });
w.step('wfdata.node', async (state, task) => ({ node_says: `hi ${state.who} from node`,
                                               node_attempt: task.attempt }));
w.run();
"""


class NodeWorker:
    """client/node/worker.js in a node process (its npm packages: client/node/node_modules,
    or tests/interop/node's, which scripts/test.sh installs with the same versions)."""

    def __init__(self):
        import subprocess
        root = os.path.join(HERE, "..", "..", "..")
        paths = [os.path.join(root, d, "node_modules") for d in ("client/node",
                                                                 "tests/interop/node")]
        if not any(os.path.isdir(os.path.join(p, "@grpc", "grpc-js")) for p in paths):
            raise AssertionError("@grpc/grpc-js is not installed: run `npm ci` in client/node")
        env = dict(os.environ, NODE_PATH=os.pathsep.join(paths))
        self.p = subprocess.Popen(["node", "-e", NODE_WORKER, "--",
                                   os.path.realpath(os.path.join(root, "client", "node",
                                                                 "worker.js")),
                                   CTX["addr_a"], CTX["tok_worker"]],
                                  env=env, stdout=sys.stderr, stderr=sys.stderr)

    def stop(self):
        self.p.terminate()  # SIGTERM: a graceful stop
        assert self.p.wait(timeout=30) == 0, "the node worker did not stop cleanly"


def main():
    return tw.run_on_two_replicas(WfdataTest, "wfdata", 2, log)


if __name__ == "__main__":
    sys.exit(main())
