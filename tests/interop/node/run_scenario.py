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
import shutil
import subprocess
import sys

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

    def run(mods, addr, channel, log_path, conninfo):
        # The Python code served only the start-up health probe; node does the rest.
        cmd = [args.node, os.path.join(HERE, "scenario.js"), addr]
        log(f"running {' '.join(cmd)}")
        try:
            res = subprocess.run(cmd, cwd=HERE, stdin=subprocess.DEVNULL,
                                 timeout=SCENARIO_TIMEOUT)
        except subprocess.TimeoutExpired:
            log(f"FAIL: scenario.js did not finish within {SCENARIO_TIMEOUT:.0f} s")
            return False
        if res.returncode != 0:
            log(f"FAIL: scenario.js exited with {res.returncode}")
        return res.returncode == 0

    return tp.run_against_server(log, args.proto_dir, args.server_bin, "interop_node_scenario",
                                 run)


if __name__ == "__main__":
    sys.exit(main())
