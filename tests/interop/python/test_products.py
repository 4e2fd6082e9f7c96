#!/usr/bin/python3
"""Interop test: a Python gRPC client (Debian's python3-grpcio) against orchestratord.

Generates Python code from the contract with protoc, creates a fresh database, starts the
server on a free port, exercises orchestrator.v1.ProductService and the rich error model
(google.rpc.Status in grpc-status-details-bin), then checks that SIGTERM stops the server
with exit status 0.

Needs ORCH_TEST_PGHOST, ORCH_TEST_PGPORT and ORCH_TEST_PGUSER (scripts/test.sh sets them);
without them it exits non-zero. Server logs go to ORCH_TEST_LOG_DIR when it is set.

Usage: test_products.py --server-bin PATH --proto-dir DIR
"""
import argparse
import glob
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

PG_BIN = "/usr/lib/postgresql/15/bin"
MIN_PRODUCTS = 9
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
RPC_TIMEOUT = 10.0

# Filled in by main() before the tests run.
CTX = {}


def log(msg):
    print(f"interop_python: {msg}", file=sys.stderr, flush=True)


def find_tool(name, fallbacks):
    for path in fallbacks:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found")
    return found


# ---------------------------------------------------------------------------------------
# Code generation

def generate(proto_dir, out_dir):
    """Generate *_pb2 / *_pb2_grpc modules; returns the directory holding health_pb2.py."""
    protoc = find_tool("protoc", ["/usr/bin/protoc"])
    plugin = find_tool("grpc_python_plugin", ["/usr/bin/grpc_python_plugin"])
    proto_dir = os.path.realpath(proto_dir)
    includes = ["-I", proto_dir, "-I", "/usr/include", "-I", "/usr/share/grpc-proto"]
    own = sorted(glob.glob(os.path.join(proto_dir, "orchestrator", "v1", "*.proto")))
    own += sorted(glob.glob(os.path.join(proto_dir, "google", "rpc", "*.proto")))
    if not own:
        raise RuntimeError(f"no .proto files under {proto_dir}")

    def run(out, files):
        os.makedirs(out, exist_ok=True)
        cmd = [protoc, *includes, f"--python_out={out}", f"--grpc_out={out}",
               f"--plugin=protoc-gen-grpc={plugin}", *files]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"protoc failed ({' '.join(cmd)}):\n{res.stderr}")

    main_out = os.path.join(out_dir, "gen")
    run(main_out, own)
    # grpc/health/v1/health_pb2.py would shadow the grpc package: keep it apart and load it
    # by file path under another module name.
    health_out = os.path.join(out_dir, "gen_health")
    run(health_out, ["/usr/share/grpc-proto/grpc/health/v1/health.proto"])
    sys.path.insert(0, main_out)
    return os.path.join(health_out, "grpc", "health", "v1")


def load_modules(health_dir):
    from google.rpc import error_details_pb2, status_pb2  # noqa: E402 (generated)
    from orchestrator.v1 import products_pb2, products_pb2_grpc  # noqa: E402

    spec = importlib.util.spec_from_file_location(
        "orch_interop_health_pb2", os.path.join(health_dir, "health_pb2.py"))
    health_pb2 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(health_pb2)
    return dict(status_pb2=status_pb2, error_details_pb2=error_details_pb2,
                products_pb2=products_pb2, products_pb2_grpc=products_pb2_grpc,
                health_pb2=health_pb2)


# ---------------------------------------------------------------------------------------
# Database and server

def pg_env():
    names = ["ORCH_TEST_PGHOST", "ORCH_TEST_PGPORT", "ORCH_TEST_PGUSER"]
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        return None, missing
    return {"host": os.environ["ORCH_TEST_PGHOST"], "port": os.environ["ORCH_TEST_PGPORT"],
            "user": os.environ["ORCH_TEST_PGUSER"]}, []


def pg_tool(name):
    return find_tool(name, [os.path.join(PG_BIN, name), f"/usr/bin/{name}"])


def createdb(pg, dbname):
    subprocess.run([pg_tool("createdb"), "-h", pg["host"], "-p", pg["port"], "-U", pg["user"],
                    dbname], check=True, capture_output=True, text=True)


def dropdb(pg, dbname):
    res = subprocess.run([pg_tool("dropdb"), "--if-exists", "--force", "-h", pg["host"],
                          "-p", pg["port"], "-U", pg["user"], dbname],
                         capture_output=True, text=True)
    if res.returncode != 0:
        log(f"warning: dropdb {dbname} failed: {res.stderr.strip()}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=40):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


def start_server(server_bin, conninfo, log_path, mods):
    import grpc

    port = free_port()
    addr = f"127.0.0.1:{port}"
    logf = open(log_path, "w")
    cmd = [server_bin, "--listen", addr, "--database-url", conninfo]
    log(f"starting {' '.join(cmd)} (log: {log_path})")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    logf.close()

    health = mods["health_pb2"]
    deadline = time.monotonic() + START_TIMEOUT
    channel = grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)])
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=health.HealthCheckRequest.SerializeToString,
                                response_deserializer=health.HealthCheckResponse.FromString)
    ready = False
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            channel.close()
            raise RuntimeError(f"server exited with {proc.returncode} during start-up:\n"
                               + tail(log_path))
        with open(log_path, "r", errors="replace") as f:
            if "serving on" in f.read():
                ready = True
        if not ready:
            try:
                resp = check(health.HealthCheckRequest(service=""), timeout=0.5)
                ready = resp.status == health.HealthCheckResponse.SERVING
            except grpc.RpcError:
                pass
        if ready:
            break
        time.sleep(0.1)
    # The probe channel may sit in connect back-off from before the server listened: the
    # tests get a fresh channel, connected before they start.
    channel.close()
    if not ready:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"server not serving after {START_TIMEOUT:.0f} s:\n" + tail(log_path))
    channel = grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)])
    try:
        grpc.channel_ready_future(channel).result(timeout=max(1.0, deadline - time.monotonic()))
    except grpc.FutureTimeoutError:
        channel.close()
        proc.kill()
        proc.wait()
        raise RuntimeError(f"cannot connect to {addr}:\n" + tail(log_path))
    log(f"server serving on {addr} (pid {proc.pid})")
    return proc, addr, channel


def stop_server(proc):
    """SIGTERM; returns (exit status or None if it had to be killed, seconds taken)."""
    t0 = time.monotonic()
    if proc.poll() is not None:
        return proc.returncode, 0.0
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=STOP_TIMEOUT)
        return rc, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.monotonic() - t0


# ---------------------------------------------------------------------------------------
# Tests

class ProductServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = CTX["mods"]
        cls.pb = cls.m["products_pb2"]
        cls.stub = cls.m["products_pb2_grpc"].ProductServiceStub(CTX["channel"])

    def rich_error(self, err):
        """Decode google.rpc.Status from the call's trailers; returns (status, infos, bads)."""
        details = None
        for key, value in err.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                details = value
        self.assertIsNotNone(details, "no grpc-status-details-bin trailer")
        status = self.m["status_pb2"].Status()
        status.ParseFromString(details)
        ed = self.m["error_details_pb2"]
        infos, bads = [], []
        for any_msg in status.details:
            if any_msg.Is(ed.ErrorInfo.DESCRIPTOR):
                info = ed.ErrorInfo()
                any_msg.Unpack(info)
                infos.append(info)
            elif any_msg.Is(ed.BadRequest.DESCRIPTOR):
                bad = ed.BadRequest()
                any_msg.Unpack(bad)
                bads.append(bad)
        return status, infos, bads

    def assert_invalid_argument(self, err, field):
        import grpc
        self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT, err.details())
        status, infos, bads = self.rich_error(err)
        self.assertEqual(status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertTrue(infos, f"no ErrorInfo in {status}")
        self.assertIn("orchestrator.v1", [i.domain for i in infos])
        self.assertTrue(bads, f"no BadRequest in {status}")
        fields = [v.field for b in bads for v in b.field_violations]
        self.assertIn(field, fields)

    def test_health_serving(self):
        health = self.m["health_pb2"]
        check = CTX["channel"].unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString)
        resp = check(health.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT)
        self.assertEqual(resp.status, health.HealthCheckResponse.SERVING)

    def test_list_products_paged(self):
        names, token, pages, total = [], "", 0, None
        while True:
            resp = self.stub.ListProducts(
                self.pb.ListProductsRequest(page_size=3, page_token=token), timeout=RPC_TIMEOUT)
            pages += 1
            self.assertLessEqual(len(resp.products), 3)
            if total is None:
                total = resp.total_size
            names.extend(p.name for p in resp.products)
            token = resp.next_page_token
            if not token:
                break
            self.assertLess(pages, 100, "pagination does not end")
        self.assertEqual(len(names), len(set(names)), f"duplicate products: {names}")
        self.assertGreaterEqual(len(names), MIN_PRODUCTS, f"products: {names}")
        self.assertIn("node Cisco", names)
        self.assertIn("l2vpn", names)
        self.assertEqual(total, len(names), "total_size differs from the products listed")

    def test_get_product_by_name_and_id(self):
        p = self.stub.GetProduct(self.pb.GetProductRequest(name="node Cisco"),
                                 timeout=RPC_TIMEOUT)
        self.assertEqual(p.name, "node Cisco")
        fixed = {fi.name: fi.value for fi in p.fixed_inputs}
        self.assertIn("node_type", fixed)
        self.assertEqual(fixed["node_type"], "Cisco")
        self.assertTrue(p.root_product_block, "no root product block")
        self.assertIn(p.root_product_block, [b.name for b in p.product_blocks])
        # The id is a lower-case UUID and looks the same product up.
        self.assertRegex(p.product_id,
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        q = self.stub.GetProduct(self.pb.GetProductRequest(product_id=p.product_id),
                                 timeout=RPC_TIMEOUT)
        self.assertEqual(q.name, "node Cisco")

    def test_get_product_unknown_name_not_found(self):
        import grpc
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.GetProduct(self.pb.GetProductRequest(name="no such product"),
                                 timeout=RPC_TIMEOUT)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_get_product_bad_id(self):
        import grpc
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.GetProduct(self.pb.GetProductRequest(product_id="not-a-uuid"),
                                 timeout=RPC_TIMEOUT)
        self.assert_invalid_argument(cm.exception, "product_id")

    def test_list_products_bad_page_token(self):
        import grpc
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListProducts(self.pb.ListProductsRequest(page_token="garbage"),
                                   timeout=RPC_TIMEOUT)
        self.assert_invalid_argument(cm.exception, "page_token")


# ---------------------------------------------------------------------------------------

def run_against_server(log, proto_dir, server_bin, tag, run, extra_modules=None,
                       generate_only=False):
    """What every interop test does around its own part: generate and import the Python code
    (plus extra_modules(), a dict of more modules), create a database on the test cluster,
    start the server on it (log in $ORCH_TEST_LOG_DIR/<tag>.<db>.log), call
    run(mods, addr, channel, log_path, conninfo) (conninfo: the database's, for a test that
    writes to it beside the server), which returns True when its part passed, then stop
    the server (it must exit 0 on SIGTERM) and drop the database. Returns the exit code:
    0 passed, 1 failed, 2 not run (the test cluster is not configured: a failure, never a
    silent pass)."""
    tmp = tempfile.mkdtemp(prefix=f"orch-{tag}-")
    proc = None
    channel = None
    pg = None
    dbname = None
    try:
        mods = load_modules(generate(proto_dir, tmp))
        if extra_modules is not None:
            mods.update(extra_modules())
        log("generated and imported the Python code")
        if generate_only:
            return 0

        pg, missing = pg_env()
        if pg is None:
            log(f"NOT RUN: {', '.join(missing)} not set (scripts/test.sh sets them); "
                "failing rather than passing silently")
            return 2
        if not os.access(server_bin, os.X_OK):
            log(f"server binary {server_bin} is not executable")
            return 1

        dbname = f"orch_{tag}_{os.getpid()}_{secrets.token_hex(4)}"
        createdb(pg, dbname)
        conninfo = f"host={pg['host']} port={pg['port']} user={pg['user']} dbname={dbname}"
        log_dir = os.environ.get("ORCH_TEST_LOG_DIR") or tmp
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, f"{tag}.{dbname}.log")

        proc, addr, channel = start_server(server_bin, conninfo, log_path, mods)
        ok = run(mods, addr, channel, log_path, conninfo)

        channel.close()
        channel = None
        rc, took = stop_server(proc)
        proc = None
        stop_ok = rc == 0
        if rc is None:
            log(f"FAIL: server did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM (killed)")
        elif rc != 0:
            log(f"FAIL: server exited with status {rc} after SIGTERM:\n" + tail(log_path))
        else:
            log(f"ok: server exited 0 {took:.2f} s after SIGTERM")
        failed = not (ok and stop_ok)
        if not ok:
            log("server log tail:\n" + tail(log_path))
        log("PASS" if not failed else "FAIL")
        return 1 if failed else 0
    except Exception as e:  # set-up failures: report them and fail
        log(f"FAIL: {type(e).__name__}: {e}")
        return 1
    finally:
        if channel is not None:
            channel.close()
        if proc is not None and proc.poll() is None:
            stop_server(proc)
        if pg is not None and dbname is not None:
            dropdb(pg, dbname)
        shutil.rmtree(tmp, ignore_errors=True)


def run_test_case(case, ctx):
    """A run() for run_against_server: the unittest TestCase case, with ctx (the module's
    CTX dict) holding mods, channel, addr and conninfo."""
    def run(mods, addr, channel, log_path, conninfo):
        ctx.update(mods=mods, channel=channel, addr=addr, conninfo=conninfo)
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
        return unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite).wasSuccessful()
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--generate-only", action="store_true",
                    help="only generate and import the Python code (no database, no server)")
    args = ap.parse_args()
    return run_against_server(log, args.proto_dir, args.server_bin, "interop_python",
                              run_test_case(ProductServiceTest, CTX),
                              generate_only=args.generate_only)


if __name__ == "__main__":
    sys.exit(main())
