#!/usr/bin/python3
"""Interop test: step workers in Python (client/python/orchestrator_worker) against two
replicas of orchestratord sharing one database, with authentication on.

Replica A runs no steps (--workers 0) and holds the workers' streams; replica B runs the
processes (they are started there), so every task a worker gets went from B to A through
PostgreSQL. Short leases and heartbeats keep it quick. It shows:
  - create_node whose push_config runs in a Python worker completes; the audit row names the
    worker's identity and name;
  - a worker killed (SIGKILL) in the middle of a step: another worker finishes it, the step is
    committed once, and the first attempt's late answer is refused (FAILED_PRECONDITION);
  - two workers of one task type share the load and neither runs more than its capacity;
  - a remote step without a fall-back waits visibly (GetProcess pending_task) until a worker
    connects;
  - a retryable failure is audited (a 'waiting' step row with the error, naming the worker,
    and its event) and the next attempt completes the process;
  - while the engine is paused no task is delivered; a process aborted while its worker works
    refuses the late answer and its task is cancelled;
  - the start form's secret reaches only the worker of a step that asks for the secrets, and
    what a worker returns under a secret's name is masked before the commit;
  - bad input: an unknown task (NOT_FOUND), a stale token (FAILED_PRECONDITION), a payload
    over the size limit (INVALID_ARGUMENT), a caller without the worker role
    (PERMISSION_DENIED); both replicas stay SERVING.
SIGTERM must stop both servers with exit status 0. Needs ORCH_TEST_PGHOST, ORCH_TEST_PGPORT
and ORCH_TEST_PGUSER; without them it exits non-zero.

Usage: test_workers.py --server-bin PATH --proto-dir DIR
"""
import argparse
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "client", "python"))
import test_products as tp  # noqa: E402  (generation, database and server helpers)

RPC_TIMEOUT = 10.0
WAIT = 60.0
CTX = {}
SERVER_ARGS = ["--worker-lease-ms", "1500", "--worker-heartbeat-ms", "300",
               "--worker-poll-ms", "200", "--worker-max-result-bytes", "4096",
               "--lease-ms", "3000"]


def log(msg):
    print(f"interop_python_workers: {msg}", file=sys.stderr, flush=True)


def struct(d):
    from google.protobuf import struct_pb2
    s = struct_pb2.Struct()
    s.update(d)
    return s


def psql(sql):
    pg = CTX["pg"]
    res = subprocess.run([tp.pg_tool("psql"), "-h", pg["host"], "-p", pg["port"], "-U",
                          pg["user"], "-d", CTX["db"], "-AtX", "-c", sql],
                         capture_output=True, text=True, check=True)
    return res.stdout.strip()


def wait_for(what, fn, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_server(tag, conninfo, args, env):
    import grpc
    port = tp.free_port()
    addr = f"127.0.0.1:{port}"
    log_path = os.path.join(CTX["log_dir"], f"workers.{tag}.{CTX['db']}.log")
    cmd = [CTX["server_bin"], "--listen", addr, "--database-url", conninfo, *args]
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env)
    deadline = time.monotonic() + tp.START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server {tag} exited:\n" + tp.tail(log_path))
        with open(log_path, errors="replace") as f:
            if "serving on" in f.read():
                break
        time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError(f"server {tag} not serving:\n" + tp.tail(log_path))
    channel = grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)])
    grpc.channel_ready_future(channel).result(timeout=10)
    log(f"replica {tag} serving on {addr} (pid {proc.pid}, log {log_path})")
    return proc, addr, channel, log_path


def md(token):
    return [("authorization", f"Bearer {token}")]


class WorkerThread:
    """A library worker run in a thread of this process."""

    def __init__(self, name, fn, capacity=1, task_type="network.push_config"):
        from orchestrator_worker import Worker
        self.w = Worker(CTX["addr_a"], name=name, capacity=capacity, token=CTX["tok_worker"])
        self.w.step(task_type)(fn)
        self.t = threading.Thread(target=self.w.run, kwargs={"handle_signals": False},
                                  daemon=True)
        self.t.start()

    def stop(self):
        self.w.stop()
        self.t.join(timeout=30)
        assert not self.t.is_alive(), "the worker did not stop"


class WorkersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        m = CTX["mods"]
        from orchestrator.v1 import processes_pb2, processes_pb2_grpc, workers_pb2, \
            workers_pb2_grpc, products_pb2, products_pb2_grpc  # noqa: E402
        cls.ppb, cls.wpb = processes_pb2, workers_pb2
        cls.proc_b = processes_pb2_grpc.ProcessServiceStub(CTX["chan_b"])
        cls.work_a = workers_pb2_grpc.StepWorkerServiceStub(CTX["chan_a"])
        prod = products_pb2_grpc.ProductServiceStub(CTX["chan_b"])
        resp = prod.ListProducts(products_pb2.ListProductsRequest(page_size=100),
                                 timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
        cls.products = {p.name: p.product_id for p in resp.products}
        cls.health = m["health_pb2"]
        cls.n = 0

    # -- helpers -------------------------------------------------------------------------

    def create_node(self):
        WorkersTest.n += 1
        resp = self.proc_b.StartProcess(self.ppb.StartProcessRequest(
            workflow_name="create_node", product_id=self.products["node Nokia"],
            user_inputs=[struct({"customer_id": "acme-workers", "role_id": 1, "type_id": 2,
                                 "site_id": 3,
                                 "node_name": f"wk-{os.getpid()}-{WorkersTest.n}"})]),
            timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
        return resp.process.process_id

    def start_task(self, workflow):
        resp = self.proc_b.StartProcess(self.ppb.StartProcessRequest(workflow_name=workflow),
                                        timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
        return resp.process.process_id

    def status(self, pid):
        return psql(f"SELECT last_status FROM processes WHERE process_id = '{pid}'")

    def wait_completed(self, pid):
        wait_for(f"process {pid} to complete", lambda: self.status(pid) == "completed")

    def push_rows(self, pid, key="push_config"):
        return psql(f"SELECT status || ' ' || executed_by FROM process_steps WHERE process_id = "
                    f"'{pid}' AND step_key = '{key}' AND status <> 'awaiting_callback' ORDER BY "
                    f"sequence").splitlines()

    def assert_serving(self):
        for ch in (CTX["chan_a"], CTX["chan_b"]):
            check = ch.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=self.health.HealthCheckRequest.SerializeToString,
                response_deserializer=self.health.HealthCheckResponse.FromString)
            r = check(self.health.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
            self.assertEqual(r.status, self.health.HealthCheckResponse.SERVING)

    # -- the tests -----------------------------------------------------------------------

    def test_1_create_node_in_python(self):
        seen = []

        def push(state):
            seen.append(state["node_name"])
            return {"config_pushed": True, "pushed_by": "python"}

        w = WorkerThread("py-push-1", push)
        try:
            wait_for("the worker to connect", lambda: psql(
                "SELECT count(*) FROM step_workers WHERE name = 'py-push-1'") == "1")
            pid = self.create_node()
            self.wait_completed(pid)
        finally:
            w.stop()
        rows = self.push_rows(pid)
        self.assertEqual(rows, ["success netbot/py-push-1"], rows)
        self.assertEqual(psql(f"SELECT state->>'pushed_by' FROM processes WHERE process_id = "
                              f"'{pid}'"), "python")
        self.assertEqual(len(seen), 1)
        log(f"create_node {pid}: push_config by {rows[0].split()[1]}")

    def test_2_killed_worker(self):
        tokdir = tempfile.mkdtemp(prefix="orch-wk-")
        script = os.path.join(HERE, "worker_hang.py")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        victim = subprocess.Popen([sys.executable, script, CTX["addr_a"], CTX["tok_worker"],
                                   tokdir], env=env, stdout=sys.stderr, stderr=sys.stderr)
        try:
            wait_for("the first worker to connect", lambda: psql(
                "SELECT count(*) FROM step_workers WHERE name = 'py-victim'") == "1")
            pid = self.create_node()
            tokfile = os.path.join(tokdir, "token")
            wait_for("the first worker to start the step", lambda: os.path.exists(tokfile))
            with open(tokfile) as f:
                task_id, token1 = f.read().split()
            victim.kill()  # SIGKILL in the middle of the step
            victim.wait()
            log(f"killed the worker running task {task_id}")
            w = WorkerThread("py-rescue", lambda state: {"config_pushed": True})
            try:
                self.wait_completed(pid)
            finally:
                w.stop()
        finally:
            if victim.poll() is None:
                victim.kill()
            shutil.rmtree(tokdir, ignore_errors=True)
        self.assertEqual(self.push_rows(pid), ["success netbot/py-rescue"])
        self.assertEqual(psql(f"SELECT attempt FROM worker_tasks WHERE task_id = '{task_id}'"),
                         "2")
        # The first attempt's late answer changes nothing.
        import grpc
        with self.assertRaises(grpc.RpcError) as cm:
            self.work_a.CompleteTask(self.wpb.CompleteTaskRequest(
                task_id=task_id, attempt_token=token1, state_delta=struct({"late": True})),
                timeout=RPC_TIMEOUT, metadata=md(CTX["tok_worker"]))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("not the current attempt", cm.exception.details())
        self.assertEqual(self.push_rows(pid), ["success netbot/py-rescue"])
        self.assertEqual(psql(f"SELECT state ? 'late' FROM processes WHERE process_id = "
                              f"'{pid}'"), "f")

    def test_3_two_workers_share_within_capacity(self):
        lock = threading.Lock()
        now, peak, done = {}, {}, {}

        def make(name):
            def push(state):
                with lock:
                    now[name] = now.get(name, 0) + 1
                    peak[name] = max(peak.get(name, 0), now[name])
                time.sleep(0.3)
                with lock:
                    now[name] -= 1
                    done[name] = done.get(name, 0) + 1
                return {"config_pushed": True}
            return push

        ws = [WorkerThread("py-share-a", make("a"), capacity=2),
              WorkerThread("py-share-b", make("b"), capacity=2)]
        try:
            wait_for("both workers to connect", lambda: psql(
                "SELECT count(*) FROM step_workers WHERE name LIKE 'py-share-%'") == "2")
            pids = [self.create_node() for _ in range(8)]
            for pid in pids:
                self.wait_completed(pid)
        finally:
            for w in ws:
                w.stop()
        log(f"share: done {done}, peak {peak}")
        self.assertEqual(done.get("a", 0) + done.get("b", 0), 8)
        self.assertGreater(done.get("a", 0), 0)
        self.assertGreater(done.get("b", 0), 0)
        self.assertLessEqual(peak["a"], 2)
        self.assertLessEqual(peak["b"], 2)
        for pid in pids:
            self.assertEqual(len(self.push_rows(pid)), 1)

    def test_4_waits_visibly_without_worker(self):
        pid = self.start_task("test_remote")
        wait_for("the process to wait", lambda: self.status(pid) == "awaiting_callback")
        p = self.proc_b.GetProcess(self.ppb.GetProcessRequest(process_id=pid),
                                   timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
        self.assertTrue(p.HasField("pending_task"), str(p))
        self.assertEqual(p.pending_task.task_type, "test.remote")
        self.assertFalse(p.pending_task.served)
        self.assertIn("no worker serving test.remote is connected", p.pending_task.waiting_reason)
        # orchctl shows it too.
        out = subprocess.run([CTX["orchctl"], "--server", CTX["addr_b"], "--token",
                              CTX["tok_admin"], "process", "get", pid],
                             capture_output=True, text=True)
        self.assertIn("no worker serving test.remote is connected", out.stdout, out.stderr)
        w = WorkerThread("py-late", lambda state: {"done_by": "late"}, task_type="test.remote")
        try:
            self.wait_completed(pid)
        finally:
            w.stop()
        self.assertEqual(self.push_rows(pid, "work"), ["success netbot/py-late"])

    def test_6_retryable_failure_is_audited(self):
        # A retryable failure sends the task back to pending after the back-off (1 s): the
        # failed attempt leaves a 'waiting' audit row naming the worker, with the error, and
        # a step_committed event, as an in-process step's retryable failure does; the second
        # attempt succeeds and the process completes.
        from orchestrator_worker import StepFailed
        calls = []

        def flaky(state):
            calls.append(1)
            if len(calls) == 1:
                raise StepFailed("DEVICE_BUSY", "the device is busy", retryable=True,
                                 details={"try": 1})
            return {"done_by": "flaky"}

        pid = self.start_task("test_remote")
        w = WorkerThread("py-flaky", flaky, task_type="test.remote")
        try:
            self.wait_completed(pid)
        finally:
            w.stop()
        self.assertEqual(self.push_rows(pid, "work"),
                         ["waiting netbot/py-flaky", "success netbot/py-flaky"])
        self.assertEqual(psql(
            f"SELECT error->>'reason' || ' ' || (error->'details'->>'try') FROM process_steps "
            f"WHERE process_id = '{pid}' AND step_key = 'work' AND status = 'waiting'"),
            "DEVICE_BUSY 1")
        self.assertEqual(psql(
            f"SELECT count(*) FROM process_events WHERE process_id = '{pid}' AND kind = "
            f"'step_committed' AND payload->>'status' = 'waiting' AND "
            f"payload->'error'->>'reason' = 'DEVICE_BUSY'"), "1")
        # The event sequence has no gap and no repeat.
        self.assertEqual(psql(
            f"SELECT max(sequence) - min(sequence) + 1 = count(*) AND count(DISTINCT sequence) = "
            f"count(*) FROM "
            f"process_events WHERE process_id = '{pid}'"), "t")
        self.assertEqual(len(calls), 2)

    def test_7_secret_answers(self):
        # The start form's secret (api_key) reaches the worker of the ORCH_REMOTE_STEP_SECRETS
        # step unmasked and the worker of a plain remote step as "***"; the worker that echoes
        # it under its own name has it masked before the commit, as an in-process step has:
        # the process's state, its audit rows and its events never hold the real value.
        key = "k-" + secrets.token_hex(12)
        seen = {}

        def plain(state, task):
            seen["plain"] = (state.get("api_key"), task.secrets_included)
            return {"plain_saw": state.get("api_key")}

        def work(state, task):
            seen["work"] = (state.get("api_key"), task.secrets_included)
            return {"api_key": state.get("api_key"),
                    "key_digest": hashlib.sha256(state.get("api_key", "").encode()).hexdigest()}

        resp = self.proc_b.StartProcess(self.ppb.StartProcessRequest(
            workflow_name="test_remote_secret",
            user_inputs=[struct({"username": "alice", "api_key": key})]),
            timeout=RPC_TIMEOUT, metadata=md(CTX["tok_admin"]))
        pid = resp.process.process_id
        w1 = WorkerThread("py-plain", plain, task_type="test.remote_plain")
        w2 = WorkerThread("py-secret", work, task_type="test.remote_secret")
        try:
            self.wait_completed(pid)
        finally:
            w1.stop()
            w2.stop()
        self.assertEqual(seen["plain"], ("***", False), seen)
        self.assertEqual(seen["work"], (key, True), seen)
        self.assertEqual(psql(f"SELECT state->>'api_key' || ' ' || (state->>'plain_saw') || ' ' || "
                              f"(state->>'key_digest') FROM processes WHERE process_id = "
                              f"'{pid}'"),
                         "*** *** " + hashlib.sha256(key.encode()).hexdigest())
        for table, cols in (("processes", "state::text || coalesce(failed_reason, '')"),
                            ("process_steps", "state::text || state_delta::text || "
                                              "coalesce(error::text, '')"),
                            ("process_events", "payload::text"),
                            ("worker_tasks", "to_jsonb(worker_tasks)::text")):
            self.assertEqual(psql(f"SELECT count(*) FROM {table} WHERE process_id = '{pid}' "
                                  f"AND strpos({cols}, '{key}') > 0"), "0",
                             f"the secret is in {table}")
        self.assertEqual(psql(f"SELECT state_delta->>'api_key' FROM process_steps WHERE "
                              f"process_id = '{pid}' AND step_key = 'work' AND status = "
                              f"'success'"), "***")

    def test_8_pause_and_abort(self):
        # Pause and abort treat a remote step as they treat an in-process one. While the
        # engine is paused, a task that waits is handed to no worker; on resume it is, and the
        # process completes. A process aborted while its worker works has its task cancelled:
        # the late answer is refused and commits nothing.
        from orchestrator.v1 import engine_pb2, engine_pb2_grpc
        eng = engine_pb2_grpc.EngineServiceStub(CTX["chan_b"])
        admin = md(CTX["tok_admin"])
        calls = []

        def work(state):
            calls.append(1)
            return {"done_by": "after-pause"}

        pid = self.start_task("test_remote")
        wait_for("the task to wait", lambda: psql(
            f"SELECT count(*) FROM worker_tasks WHERE process_id = '{pid}' AND status = "
            f"'pending'") == "1")
        eng.PauseEngine(engine_pb2.PauseEngineRequest(), timeout=RPC_TIMEOUT, metadata=admin)
        w = WorkerThread("py-paused", work, task_type="test.remote")
        try:
            wait_for("the worker to connect", lambda: psql(
                "SELECT count(*) FROM step_workers WHERE name = 'py-paused'") == "1")
            time.sleep(2.0)  # many delivery rounds (--worker-poll-ms 200)
            self.assertEqual(calls, [], "a task was delivered while the engine was paused")
            self.assertEqual(self.status(pid), "awaiting_callback")
        finally:
            eng.ResumeEngine(engine_pb2.ResumeEngineRequest(), timeout=RPC_TIMEOUT,
                             metadata=admin)
        try:
            self.wait_completed(pid)
        finally:
            w.stop()
        self.assertEqual(calls, [1])

        started, release = threading.Event(), threading.Event()

        def slow(state):
            started.set()
            release.wait(30)
            return {"late": True}

        pid = self.start_task("test_remote")
        w = WorkerThread("py-slow", slow, task_type="test.remote")
        try:
            self.assertTrue(started.wait(WAIT), "the task never reached the worker")
            self.proc_b.AbortProcess(self.ppb.AbortProcessRequest(process_id=pid,
                                                                  reason="interop test"),
                                     timeout=RPC_TIMEOUT, metadata=admin)
            release.set()
            wait_for("the late answer to be refused", lambda: w.w.refused >= 1)
        finally:
            release.set()
            w.stop()
        self.assertEqual(w.w.completed, 0)
        self.assertEqual(self.status(pid), "aborted")
        self.assertEqual(self.push_rows(pid, "work"), [])
        self.assertEqual(psql(f"SELECT count(*) FROM processes WHERE process_id = '{pid}' AND "
                              f"state ? 'late'"), "0")
        wait_for("the task to be cancelled", lambda: psql(
            f"SELECT status FROM worker_tasks WHERE process_id = '{pid}'") == "cancelled")
        self.assert_serving()

    def test_5_bad_input(self):
        import grpc
        tw = md(CTX["tok_worker"])

        def code(fn, req, token=tw):
            with self.assertRaises(grpc.RpcError) as cm:
                fn(req, timeout=RPC_TIMEOUT, metadata=token)
            return cm.exception

        e = code(self.work_a.CompleteTask, self.wpb.CompleteTaskRequest(
            task_id=str(uuid.uuid4()), attempt_token="x" * 64))
        self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND, e.details())
        e = code(self.work_a.CompleteTask, self.wpb.CompleteTaskRequest(
            task_id="not-a-uuid", attempt_token="x"))
        self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT, e.details())
        e = code(self.work_a.Heartbeat, self.wpb.HeartbeatRequest(worker_id=str(uuid.uuid4())))
        self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND, e.details())
        stream = self.work_a.StreamTasks(self.wpb.StreamTasksRequest(
            worker_name="", task_types=[], capacity=0), timeout=RPC_TIMEOUT, metadata=tw)
        with self.assertRaises(grpc.RpcError) as cm:
            next(stream)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

        # A real task: a stale token, then a payload over the limit, then the real answer.
        pid = self.start_task("test_remote")
        stream = self.work_a.StreamTasks(self.wpb.StreamTasksRequest(
            worker_name="py-raw", task_types=["test.remote"], capacity=1),
            timeout=30, metadata=tw)
        first = next(stream)
        self.assertEqual(first.WhichOneof("event"), "session")
        task = next(stream).task
        self.assertEqual(task.process_id, pid)
        self.assertEqual(task.attempt, 1)
        e = code(self.work_a.CompleteTask, self.wpb.CompleteTaskRequest(
            task_id=task.task_id, attempt_token="0" * 64))
        self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION, e.details())
        e = code(self.work_a.CompleteTask, self.wpb.CompleteTaskRequest(
            task_id=task.task_id, attempt_token=task.attempt_token,
            state_delta=struct({"blob": "y" * 5000})))
        self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT, e.details())
        self.assertIn("the limit is 4096", e.details())
        # Without the worker role: PERMISSION_DENIED, for the stream and the answers.
        e = code(self.work_a.CompleteTask, self.wpb.CompleteTaskRequest(
            task_id=task.task_id, attempt_token=task.attempt_token), md(CTX["tok_reader"]))
        self.assertEqual(e.code(), grpc.StatusCode.PERMISSION_DENIED, e.details())
        self.assertIn("worker role", e.details())
        s2 = self.work_a.StreamTasks(self.wpb.StreamTasksRequest(
            worker_name="r", task_types=["test.remote"], capacity=1), timeout=RPC_TIMEOUT,
            metadata=md(CTX["tok_admin_op"]))
        with self.assertRaises(grpc.RpcError) as cm:
            next(s2)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        # None of it changed the task: the real answer is accepted, once.
        r = self.work_a.CompleteTask(self.wpb.CompleteTaskRequest(
            task_id=task.task_id, attempt_token=task.attempt_token,
            state_delta=struct({"ok": 1})), timeout=RPC_TIMEOUT, metadata=tw)
        self.assertEqual(r.process_status, self.ppb.ProcessStatus.Value("PROCESS_STATUS_RESUMED"))
        e = code(self.work_a.CompleteTask, self.wpb.CompleteTaskRequest(
            task_id=task.task_id, attempt_token=task.attempt_token))
        self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION, e.details())
        stream.cancel()
        self.wait_completed(pid)
        self.assertEqual(self.push_rows(pid, "work"), ["success netbot/py-raw"])
        self.assert_serving()


def run_on_two_replicas(test_case, name, workers_a, logf=log, env_extra=None):
    """The whole run of an interop test on two replicas A and B of one fresh database, with
    authentication on (tokens worker, admin, reader, admin_op in CTX): parses --server-bin
    and --proto-dir, runs test_case's tests, then checks that SIGTERM stops both servers with
    status 0. workers_a: A's --workers (B runs 2); env_extra: added to the servers'
    environment. CTX also gets what a test needs to start
    another replica (conninfo, auth, env). Returns the exit status."""
    ap = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__.splitlines()[0])
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--proto-dir", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix=f"orch-{name}-")
    procs, chans = [], []
    pg = db = None
    try:
        mods = tp.load_modules(tp.generate(args.proto_dir, tmp))
        pg, missing = tp.pg_env()
        if pg is None:
            logf(f"NOT RUN: {', '.join(missing)} not set; failing rather than passing silently")
            return 2
        db = f"orch_{name}_{os.getpid()}_{secrets.token_hex(4)}"
        tp.createdb(pg, db)
        CTX.update(mods=mods, pg=pg, db=db, server_bin=args.server_bin,
                   orchctl=os.path.join(os.path.dirname(args.server_bin), "..", "client",
                                        "orchctl"),
                   log_dir=os.environ.get("ORCH_TEST_LOG_DIR") or tmp)
        toks = {k: secrets.token_hex(16) for k in ("worker", "admin", "reader", "admin_op")}
        tokfile = os.path.join(tmp, "tokens")
        with open(tokfile, "w") as f:
            f.write(f"{hashlib.sha256(toks['worker'].encode()).hexdigest()} worker netbot\n")
            f.write(f"{hashlib.sha256(toks['admin'].encode()).hexdigest()} admin ops\n")
            f.write(f"{hashlib.sha256(toks['reader'].encode()).hexdigest()} reader viewer\n")
            f.write(f"{hashlib.sha256(toks['admin_op'].encode()).hexdigest()} operator op\n")
        for k, v in toks.items():
            CTX[f"tok_{k}"] = v
        conninfo = f"host={pg['host']} port={pg['port']} user={pg['user']} dbname={db}"
        env = dict(os.environ, **(env_extra or {}))
        env.pop("ORCH_SIM_CALLBACK_DIR", None)
        auth = ["--auth", "on", "--api-tokens-file", tokfile]
        CTX.update(conninfo=conninfo, auth=auth, env=env)
        pa, CTX["addr_a"], CTX["chan_a"], _ = start_server(
            "A", conninfo, SERVER_ARGS + auth + ["--workers", str(workers_a)], env)
        procs.append(pa)
        pb, CTX["addr_b"], CTX["chan_b"], _ = start_server(
            "B", conninfo, SERVER_ARGS + auth + ["--workers", "2"], env)
        procs.append(pb)
        chans += [CTX["chan_a"], CTX["chan_b"]]
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(test_case)
        ok = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite).wasSuccessful()
        for c in chans:
            c.close()
        chans = []
        for p in procs:
            rc, took = tp.stop_server(p)
            if rc != 0:
                logf(f"FAIL: a server exited with {rc} after SIGTERM")
                ok = False
        procs = []
        logf("PASS" if ok else "FAIL")
        return 0 if ok else 1
    except Exception as e:
        logf(f"FAIL: {type(e).__name__}: {e}")
        return 1
    finally:
        for c in chans:
            c.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if pg is not None and db is not None:
            tp.dropdb(pg, db)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    # Replica A runs no steps: every task a worker gets went from B to A through PostgreSQL.
    # Its tasks are test workflows (test_remote, test_remote_secret): orchestratord-test.
    return run_on_two_replicas(WorkersTest, "workers", 0, env_extra={"ORCH_TEST_WORKFLOWS": "1"})


if __name__ == "__main__":
    sys.exit(main())
