#!/usr/bin/python3
"""Runs tests/interop/node/scenario.js (the issue 9 scenario in Node) against orchestratord.

Uses the helpers of tests/interop/python/test_products.py: creates a fresh database, starts
the server on a free port (without ORCH_SIM_CALLBACK_DIR, so the configuration push is
skipped), runs `node scenario.js ADDR`, stops the server with SIGTERM and passes only if the
scenario exited 0 and the server exited 0.

The npm packages must be installed in tests/interop/node (scripts/test.sh runs `npm ci`
there); without node_modules, node or the ORCH_TEST_PG* variables it fails, never passes.

Usage: run_scenario.py --server-bin PATH --proto-dir DIR [--node PATH]
"""
import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import test_products as tp  # noqa: E402  (generation, database and server helpers)

SCENARIO_TIMEOUT = 150.0


def log(msg):
    print(f"interop_node_scenario: {msg}", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--node", default=shutil.which("node") or "/usr/bin/node")
    args = ap.parse_args()

    if not os.access(args.node, os.X_OK):
        log(f"FAIL: node not found ({args.node}); scripts/deps.sh installs it")
        return 1
    for pkg in ("@grpc/grpc-js", "@grpc/proto-loader", "protobufjs"):
        if not os.path.isdir(os.path.join(HERE, "node_modules", pkg)):
            log(f"FAIL: {pkg} is not installed: run `npm ci` in {HERE} (scripts/test.sh does)")
            return 1

    os.environ.pop("ORCH_SIM_CALLBACK_DIR", None)
    tmp = tempfile.mkdtemp(prefix="orch-interop-node-")
    proc = None
    channel = None
    pg = None
    dbname = None
    try:
        # The Python code is generated only for the start-up health probe.
        mods = tp.load_modules(tp.generate(args.proto_dir, tmp))

        pg, missing = tp.pg_env()
        if pg is None:
            log(f"NOT RUN: {', '.join(missing)} not set (scripts/test.sh sets them); "
                "failing rather than passing silently")
            return 2
        if not os.access(args.server_bin, os.X_OK):
            log(f"server binary {args.server_bin} is not executable")
            return 1

        dbname = f"orch_interop_node_{os.getpid()}_{secrets.token_hex(4)}"
        tp.createdb(pg, dbname)
        conninfo = f"host={pg['host']} port={pg['port']} user={pg['user']} dbname={dbname}"
        log_dir = os.environ.get("ORCH_TEST_LOG_DIR") or tmp
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, f"interop_node_scenario.{dbname}.log")

        proc, addr, channel = tp.start_server(args.server_bin, conninfo, log_path, mods)
        channel.close()
        channel = None

        cmd = [args.node, os.path.join(HERE, "scenario.js"), addr]
        log(f"running {' '.join(cmd)}")
        try:
            res = subprocess.run(cmd, cwd=HERE, stdin=subprocess.DEVNULL,
                                 timeout=SCENARIO_TIMEOUT)
            node_rc = res.returncode
        except subprocess.TimeoutExpired:
            log(f"FAIL: scenario.js did not finish within {SCENARIO_TIMEOUT:.0f} s")
            node_rc = None

        rc, took = tp.stop_server(proc)
        proc = None
        stop_ok = rc == 0
        if rc is None:
            log(f"FAIL: server did not exit within {tp.STOP_TIMEOUT:.0f} s of SIGTERM (killed)")
        elif rc != 0:
            log(f"FAIL: server exited with status {rc} after SIGTERM:\n" + tp.tail(log_path))
        else:
            log(f"ok: server exited 0 {took:.2f} s after SIGTERM")
        if node_rc != 0:
            log(f"FAIL: scenario.js exited with {node_rc}; server log tail:\n"
                + tp.tail(log_path))
        failed = not (node_rc == 0 and stop_ok)
        log("PASS" if not failed else "FAIL")
        return 1 if failed else 0
    except Exception as e:  # set-up failures: report them and fail
        log(f"FAIL: {type(e).__name__}: {e}")
        return 1
    finally:
        if channel is not None:
            channel.close()
        if proc is not None and proc.poll() is None:
            tp.stop_server(proc)
        if pg is not None and dbname is not None:
            tp.dropdb(pg, dbname)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
