#!/usr/bin/python3
"""Bench section 10 (bench/workers.sh): remote steps against in-process ones, in one run.

One server (--workers 2, the test workflows) on a fresh database:
  1. latency: SEQ processes one after the other of bench_noop_3 (in process) and of
     bench_remote_noop (its step n2 done by one Python worker, client/python): per step, the
     time from step n1's commit to step n2's commit (process_steps.end_time), p50 and p99;
  2. throughput: N processes started at once, of bench_noop_3 (no worker), then of
     bench_remote_noop with 1 and with 4 Python worker processes (capacity 8 each): steps/s
     = committed steps / (last process end - first process start).
Prints "key=value" lines. Usage: workers_bench.py --server-bin B --proto-dir P --pg-host H
--pg-port N --pg-user U [--seq 100] [--n 400]
"""
import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "interop", "python"))
import test_products as tp  # noqa: E402

WORKER = """
import sys, logging
from orchestrator_worker import Worker
w = Worker(sys.argv[1], name=sys.argv[2], capacity=8)
w.step("bench.noop")(lambda state: {})
w.run()
"""


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    for a in ("--server-bin", "--proto-dir", "--pg-host", "--pg-port", "--pg-user"):
        ap.add_argument(a, required=True)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--n", type=int, default=400)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="orch-bench-workers-")
    tp.generate(args.proto_dir, tmp)
    from orchestrator.v1 import processes_pb2 as ppb, processes_pb2_grpc as pg  # noqa: E402
    import grpc
    pgc = {"host": args.pg_host, "port": args.pg_port, "user": args.pg_user}
    db = f"orch_bench_workers_{secrets.token_hex(3)}"
    tp.createdb(pgc, db)
    conninfo = f"host={args.pg_host} port={args.pg_port} user={args.pg_user} dbname={db}"
    port = tp.free_port()
    addr = f"127.0.0.1:{port}"
    env = dict(os.environ, ORCH_TEST_WORKFLOWS="1", ORCH_LOG_LEVEL="warn")
    logf = open(os.path.join(tmp, "server.log"), "w")
    server = subprocess.Popen([args.server_bin, "--listen", addr, "--database-url", conninfo,
                               "--log-level", "warn"], stdout=logf, stderr=logf, env=env)
    workers = []

    def q(sql):
        return subprocess.run([tp.pg_tool("psql"), "-h", args.pg_host, "-p", args.pg_port, "-U",
                               args.pg_user, "-d", db, "-AtX", "-c", sql], capture_output=True,
                              text=True, check=True).stdout.strip()

    def start_workers(k):
        wenv = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "client", "python"),
                                                             os.path.join(tmp, "gen")]))
        for i in range(k):
            workers.append(subprocess.Popen(["/usr/bin/python3", "-c", WORKER, addr,
                                             f"bench-{len(workers)}"], env=wenv,
                                            stderr=subprocess.DEVNULL))
        deadline = time.time() + 30
        while int(q("SELECT count(*) FROM step_workers")) < len(workers):
            if time.time() > deadline:
                raise RuntimeError("workers did not connect")
            time.sleep(0.1)

    def stop_workers():
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
        workers.clear()
        while int(q("SELECT count(*) FROM step_workers")) > 0:
            time.sleep(0.1)

    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(os.path.join(tmp, "server.log")) as f:
                if "serving on" in f.read() or server.poll() is not None:
                    break
            time.sleep(0.1)
        ch = grpc.insecure_channel(addr, options=[("grpc.enable_http_proxy", 0)])
        grpc.channel_ready_future(ch).result(timeout=10)
        stub = pg.ProcessServiceStub(ch)

        def start(wf):
            return stub.StartProcess(ppb.StartProcessRequest(workflow_name=wf),
                                     timeout=10).process.process_id

        def wait_done(ids):
            lst = ",".join(f"'{i}'" for i in ids)
            while int(q(f"SELECT count(*) FROM processes WHERE process_id IN ({lst}) AND "
                        "last_status <> 'completed'")) > 0:
                time.sleep(0.02)

        def step_latency(ids):
            lst = ",".join(f"'{i}'" for i in ids)
            rows = q("SELECT extract(epoch FROM b.end_time - a.end_time) * 1e6 FROM "
                     "process_steps a JOIN process_steps b USING (process_id) WHERE "
                     f"a.step_key = 'n1' AND b.step_key = 'n2' AND b.status = 'success' AND "
                     f"process_id IN ({lst})").split()
            return [float(r) for r in rows]

        def seq(wf):
            ids = []
            for _ in range(args.seq):
                pid = start(wf)
                wait_done([pid])
                ids.append(pid)
            lat = step_latency(ids)
            return pct(lat, 50), pct(lat, 99), len(lat)

        def burst(wf):
            ids = [start(wf) for _ in range(args.n)]
            wait_done(ids)
            lst = ",".join(f"'{i}'" for i in ids)
            span = float(q("SELECT extract(epoch FROM max(end_time) - min(start_time)) FROM "
                           f"processes WHERE process_id IN ({lst})"))
            steps = int(q(f"SELECT count(*) FROM process_steps WHERE process_id IN ({lst}) "
                          "AND status IN ('success', 'complete')"))
            return steps / span, steps

        p50, p99, n = seq("bench_noop_3")
        print(f"latency_inproc p50_us={p50:.0f} p99_us={p99:.0f} samples={n}")
        rate, steps = burst("bench_noop_3")
        print(f"throughput_inproc steps_per_s={rate:.0f} steps={steps}")
        start_workers(1)
        p50, p99, n = seq("bench_remote_noop")
        print(f"latency_remote p50_us={p50:.0f} p99_us={p99:.0f} samples={n}")
        rate, steps = burst("bench_remote_noop")
        print(f"throughput_remote_1 steps_per_s={rate:.0f} steps={steps}")
        start_workers(3)
        rate, steps = burst("bench_remote_noop")
        print(f"throughput_remote_4 steps_per_s={rate:.0f} steps={steps}")
        stop_workers()
        ch.close()
        return 0
    finally:
        for w in workers:
            w.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        tp.dropdb(pgc, db)


if __name__ == "__main__":
    sys.exit(main())
