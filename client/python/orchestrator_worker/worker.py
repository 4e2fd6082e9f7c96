"""The step worker: a StreamTasks session with reconnect and back-off, a thread pool of the
declared capacity, heartbeats, answers with their own status, and a graceful stop.

Built on Debian's python3-grpcio and the code protoc and grpc_python_plugin generate from
proto/ (load_protos generates it into a cache directory when it is not importable).
"""
import glob
import hashlib
import inspect
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

log = logging.getLogger("orchestrator_worker")

_PROTOS = {}
_DEFAULT_PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                  "proto")


def load_protos(proto_dir=None):
    """Returns (workers_pb2, workers_pb2_grpc). Imports them when they are on sys.path;
    otherwise generates them from proto_dir (default: the repository's proto/, or
    $ORCH_PROTO_DIR) into ~/.cache/orchestrator-worker/<digest> with protoc and
    grpc_python_plugin, and imports them from there."""
    if "m" in _PROTOS:
        return _PROTOS["m"]
    try:
        from orchestrator.v1 import workers_pb2, workers_pb2_grpc  # noqa: F401
    except ImportError:
        proto_dir = os.path.realpath(proto_dir or os.environ.get("ORCH_PROTO_DIR")
                                     or _DEFAULT_PROTO_DIR)
        files = sorted(glob.glob(os.path.join(proto_dir, "orchestrator", "v1", "*.proto")))
        files += sorted(glob.glob(os.path.join(proto_dir, "google", "rpc", "*.proto")))
        if not files:
            raise RuntimeError(f"no .proto files under {proto_dir} (set ORCH_PROTO_DIR)")
        digest = hashlib.sha256()
        for f in files:
            with open(f, "rb") as fh:
                digest.update(fh.read())
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        out = os.path.join(cache, "orchestrator-worker", digest.hexdigest()[:16])
        if not os.path.exists(os.path.join(out, "orchestrator", "v1", "workers_pb2_grpc.py")):
            tmp = f"{out}.tmp{os.getpid()}"
            os.makedirs(tmp, exist_ok=True)
            plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
            cmd = [shutil.which("protoc") or "/usr/bin/protoc", "-I", proto_dir,
                   "-I", "/usr/include", "-I", "/usr/share/grpc-proto", f"--python_out={tmp}",
                   f"--grpc_out={tmp}", f"--plugin=protoc-gen-grpc={plugin}", *files]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"protoc failed: {res.stderr}")
            try:
                os.rename(tmp, out)
            except OSError:  # another process made it first
                shutil.rmtree(tmp, ignore_errors=True)
        sys.path.insert(0, out)
        from orchestrator.v1 import workers_pb2, workers_pb2_grpc  # noqa: F401,F811
    _PROTOS["m"] = (workers_pb2, workers_pb2_grpc)
    return _PROTOS["m"]


class StepFailed(Exception):
    """Raise it from a step to fail it: reason (UPPER_SNAKE), a message for people,
    retryable (another attempt after the step's back-off while attempts are left) and
    details (a dict). Any other exception is a retryable failure WORKER_EXCEPTION."""

    def __init__(self, reason, message="", retryable=False, details=None):
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason
        self.retryable = retryable
        self.details = details or {}


class Task:
    """What a step function may take as its second argument: the delivery it runs."""

    def __init__(self, worker, pb):
        self._worker = worker
        self.task_id = pb.task_id
        self.process_id = pb.process_id
        self.step_key = pb.step_key
        self.step_name = pb.step_name
        self.task_type = pb.task_type
        self.workflow_name = pb.workflow_name
        self.attempt = pb.attempt
        self.attempt_token = pb.attempt_token
        self.secrets_included = pb.secrets_included
        self.deadline = pb.deadline_time.ToDatetime() if pb.HasField("deadline_time") else None

    def progress(self, message, **progress):
        """Reports progress (shown in the process's events) and renews the lease."""
        return self._worker._call("ReportTaskProgress", self._worker._pb.ReportTaskProgressRequest(
            task_id=self.task_id, attempt_token=self.attempt_token, message=message,
            progress=_struct(progress)))


def _struct(d):
    from google.protobuf import struct_pb2
    s = struct_pb2.Struct()
    s.update(d or {})
    return s


def _to_dict(struct):
    from google.protobuf import json_format
    return json_format.MessageToDict(struct)


class Worker:
    """A step worker. target: "host:port"; name: for people and the audit log; capacity:
    tasks run at once; token: a bearer token holding the worker role (None when the server
    runs without authentication); credentials: grpc.ssl_channel_credentials() for TLS."""

    def __init__(self, target, name="python-worker", capacity=1, token=None, credentials=None,
                 proto_dir=None, backoff_initial=0.1, backoff_max=10.0):
        self._pb, self._grpc = load_protos(proto_dir)
        self.target = target
        self.name = name
        self.capacity = max(1, int(capacity))
        self.token = token
        self.credentials = credentials
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._steps = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        self._stream = None
        self._channel = None
        self._stub = None
        self.worker_id = None
        self.completed = 0  # answers accepted
        self.refused = 0    # answers refused (late or repeated)

    # -- declaring steps --------------------------------------------------------------

    def step(self, task_type):
        """Decorator: fn(state) or fn(state, task) runs tasks of task_type and returns the
        state delta (a dict; None = no change)."""
        def register(fn):
            self._steps[task_type] = fn
            return fn
        return register

    # -- running ----------------------------------------------------------------------

    def _metadata(self):
        return [("authorization", f"Bearer {self.token}")] if self.token else None

    def _call(self, method, request, attempts=5):
        """A unary call with its own status; retried while the server is unavailable."""
        delay = self.backoff_initial
        for i in range(attempts):
            try:
                return getattr(self._stub, method)(request, timeout=10,
                                                   metadata=self._metadata())
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or i == attempts - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, self.backoff_max)

    def _run_task(self, pb):
        task = Task(self, pb)
        fn = self._steps.get(pb.task_type)
        try:
            state = _to_dict(pb.state)
            if fn is None:
                raise StepFailed("NO_STEP_FUNCTION", f"this worker has no step for {pb.task_type}")
            takes_task = len(inspect.signature(fn).parameters) >= 2
            delta = fn(state, task) if takes_task else fn(state)
            if delta is not None and not isinstance(delta, dict):
                raise StepFailed("BAD_RESULT", "the step returned something other than a dict")
            self._call("CompleteTask", self._pb.CompleteTaskRequest(
                task_id=pb.task_id, attempt_token=pb.attempt_token,
                state_delta=_struct(delta or {})))
            self.completed += 1
            log.info("task %s (%s, process %s, attempt %d) completed", pb.task_id, pb.task_type,
                     pb.process_id, pb.attempt)
        except StepFailed as e:
            self._fail(pb, e.reason, e.message, e.retryable, e.details)
        except grpc.RpcError as e:
            self._refused(pb, e)
        except Exception as e:  # the step's own error: retryable
            log.exception("task %s: step raised", pb.task_id)
            self._fail(pb, "WORKER_EXCEPTION", f"{type(e).__name__}: {e}"[:2000], True, {})
        finally:
            with self._lock:
                self._inflight -= 1

    def _fail(self, pb, reason, message, retryable, details):
        try:
            self._call("FailTask", self._pb.FailTaskRequest(
                task_id=pb.task_id, attempt_token=pb.attempt_token, retryable=retryable,
                reason=reason, message=message, details=_struct(details)))
            log.info("task %s failed (%s, retryable %s)", pb.task_id, reason, retryable)
        except grpc.RpcError as e:
            self._refused(pb, e)

    def _refused(self, pb, e):
        self.refused += 1
        log.warning("task %s attempt %d: answer refused: %s %s", pb.task_id, pb.attempt,
                    e.code().name, e.details())

    def _heartbeats(self, interval, session_over):
        """Every interval while the session is open or tasks are still running (a graceful
        stop keeps their leases); a worker the server forgot reconnects."""
        while not (session_over.is_set() and self._inflight == 0):
            if session_over.wait(interval) and self._inflight == 0:
                break
            try:
                self._call("Heartbeat", self._pb.HeartbeatRequest(worker_id=self.worker_id),
                           attempts=1)
            except grpc.RpcError as e:
                log.warning("heartbeat: %s %s", e.code().name, e.details())
                if e.code() == grpc.StatusCode.NOT_FOUND and self._stream is not None:
                    self._stream.cancel()

    def _session(self, pool):
        """One StreamTasks call: returns normally when it ended."""
        req = self._pb.StreamTasksRequest(worker_name=self.name, task_types=list(self._steps),
                                          capacity=self.capacity)
        self._stream = self._stub.StreamTasks(req, metadata=self._metadata())
        session_over = threading.Event()
        hb = None
        try:
            for msg in self._stream:
                kind = msg.WhichOneof("event")
                if kind == "session":
                    self.worker_id = msg.session.worker_id
                    interval = msg.session.heartbeat_interval.ToTimedelta().total_seconds()
                    log.info("connected as %s to replica %s (heartbeat every %.2f s)",
                             self.worker_id, msg.session.replica_id, interval)
                    self._connected_once = True
                    hb = threading.Thread(target=self._heartbeats,
                                          args=(max(interval, 0.05), session_over), daemon=True)
                    hb.start()
                elif kind == "task":
                    with self._lock:
                        self._inflight += 1
                    pool.submit(self._run_task, msg.task)
        finally:
            session_over.set()
            self._session_hb = hb

    def run(self, handle_signals=True):
        """Serves until stop() (or SIGTERM / SIGINT when handle_signals, in the main thread):
        reconnects with exponential back-off and jitter; on stop, takes no new task,
        finishes and answers the running ones, then returns."""
        if not self._steps:
            raise RuntimeError("no step declared: use @worker.step(task_type)")
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        if self.credentials is not None:
            self._channel = grpc.secure_channel(self.target, self.credentials)
        else:
            self._channel = grpc.insecure_channel(self.target,
                                                  options=[("grpc.enable_http_proxy", 0)])
        self._stub = self._grpc.StepWorkerServiceStub(self._channel)
        pool = ThreadPoolExecutor(max_workers=self.capacity, thread_name_prefix="step")
        delay = self.backoff_initial
        self._session_hb = None
        try:
            while not self._stop.is_set():
                self._connected_once = False
                try:
                    self._session(pool)
                except grpc.RpcError as e:
                    if self._stop.is_set():
                        break
                    log.warning("task stream ended: %s %s", e.code().name, e.details())
                if self._stop.is_set():
                    break
                if self._connected_once:
                    delay = self.backoff_initial
                wait = delay * (0.5 + random.random())
                log.info("reconnecting in %.2f s", wait)
                self._stop.wait(wait)
                delay = min(delay * 2, self.backoff_max)
        finally:
            pool.shutdown(wait=True)  # the running tasks finish and answer
            if self._session_hb is not None:
                self._session_hb.join(timeout=5)
            self._channel.close()
            log.info("stopped: %d answers accepted, %d refused", self.completed, self.refused)

    def stop(self):
        """Graceful stop: no new tasks; run() returns once the running ones answered."""
        self._stop.set()
        if self._stream is not None:
            self._stream.cancel()
