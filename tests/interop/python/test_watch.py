#!/usr/bin/python3
"""Interop test: a Python gRPC watcher (Debian's python3-grpcio) follows a workflow.

Generates Python code from the contract with protoc (the helpers of test_products.py),
creates a fresh database, starts the server on a free port, starts create_node through
ProcessService.StartProcess and follows it with the server stream WatchProcess
(after_sequence 0) to completion: a SNAPSHOT first, contiguous sequences, the last event
STATUS_CHANGED to COMPLETED, then the stream ends by itself with OK. Then the subscription
the process created is active (SubscriptionService.GetSubscription). SIGTERM must stop the
server with exit status 0.

Needs ORCH_TEST_PGHOST, ORCH_TEST_PGPORT and ORCH_TEST_PGUSER (scripts/test.sh sets them);
without them it exits non-zero. Server logs go to ORCH_TEST_LOG_DIR when it is set.

Usage: test_watch.py --server-bin PATH --proto-dir DIR
"""
import argparse
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import test_products as tp  # noqa: E402  (generation, database and server helpers)

RPC_TIMEOUT = 10.0
WATCH_TIMEOUT = 60.0

CTX = {}


def log(msg):
    print(f"interop_python_watch: {msg}", file=sys.stderr, flush=True)


def load_watch_modules():
    from orchestrator.v1 import (processes_pb2, processes_pb2_grpc,  # noqa: E402 (generated)
                                 subscriptions_pb2, subscriptions_pb2_grpc)
    return dict(processes_pb2=processes_pb2, processes_pb2_grpc=processes_pb2_grpc,
                subscriptions_pb2=subscriptions_pb2,
                subscriptions_pb2_grpc=subscriptions_pb2_grpc)


class WatchProcessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        m = CTX["mods"]
        cls.m = m
        cls.prod = m["products_pb2_grpc"].ProductServiceStub(CTX["channel"])
        cls.proc = m["processes_pb2_grpc"].ProcessServiceStub(CTX["channel"])
        cls.subs = m["subscriptions_pb2_grpc"].SubscriptionServiceStub(CTX["channel"])

    def start_create_node(self, name):
        from google.protobuf import struct_pb2
        ppb = self.m["processes_pb2"]
        product = self.prod.GetProduct(self.m["products_pb2"].GetProductRequest(name="node Cisco"),
                                       timeout=RPC_TIMEOUT)
        page = struct_pb2.Struct()
        page.update({"customer_id": "acme-py", "node_name": name, "role_id": 1, "type_id": 2,
                     "site_id": 3})
        resp = self.proc.StartProcess(
            ppb.StartProcessRequest(workflow_name="create_node", product_id=product.product_id,
                                    user_inputs=[page], request_id=tp_uuid()),
            timeout=RPC_TIMEOUT)
        self.assertEqual(resp.WhichOneof("result"), "process",
                         f"StartProcess asked for another page: {resp}")
        return resp.process.process_id

    def test_follow_create_node_to_completion(self):
        import grpc
        ppb = self.m["processes_pb2"]
        kinds = ppb.ProcessEventKind
        statuses = ppb.ProcessStatus
        pid = self.start_create_node("py-watch-1")

        stream = self.proc.WatchProcess(ppb.WatchProcessRequest(process_id=pid, after_sequence=0),
                                        timeout=WATCH_TIMEOUT)
        events = []
        for ev in stream:  # ends when the server finishes the stream
            events.append(ev)
            self.assertLess(len(events), 1000, "the stream does not end")
        # The iterator ended without raising: the stream closed with OK.
        self.assertEqual(stream.code(), grpc.StatusCode.OK, stream.details())

        self.assertGreaterEqual(len(events), 2, f"events: {events}")
        self.assertEqual(events[0].kind, kinds.Value("PROCESS_EVENT_KIND_SNAPSHOT"))
        self.assertEqual(events[0].WhichOneof("payload"), "snapshot")
        self.assertEqual(events[0].snapshot.process.process_id, pid)
        for ev in events:  # every event, the snapshot too, carries its time
            self.assertEqual(ev.process_id, pid)
            self.assertTrue(ev.HasField("event_time"), f"no event_time: {ev}")
        for prev, ev in zip(events, events[1:]):
            self.assertEqual(ev.sequence, prev.sequence + 1,
                             f"sequence {ev.sequence} after {prev.sequence}")
        last = events[-1]
        self.assertEqual(last.kind, kinds.Value("PROCESS_EVENT_KIND_STATUS_CHANGED"))
        self.assertEqual(last.status_change.new_status,
                         statuses.Value("PROCESS_STATUS_COMPLETED"))
        live_kinds = [kinds.Name(e.kind) for e in events[1:]]
        log(f"{len(events)} events: SNAPSHOT(seq {events[0].sequence}) then {live_kinds}")

        # The process names the subscription it created; it is active now.
        proc = self.proc.GetProcess(ppb.GetProcessRequest(process_id=pid), timeout=RPC_TIMEOUT)
        self.assertEqual(proc.status, statuses.Value("PROCESS_STATUS_COMPLETED"))
        self.assertEqual(len(proc.subscription_ids), 1, f"subscriptions: {proc.subscription_ids}")
        spb = self.m["subscriptions_pb2"]
        sub = self.subs.GetSubscription(
            spb.GetSubscriptionRequest(subscription_id=proc.subscription_ids[0]),
            timeout=RPC_TIMEOUT)
        self.assertEqual(sub.status, spb.SubscriptionStatus.Value("SUBSCRIPTION_STATUS_ACTIVE"))
        self.assertEqual(sub.customer_id, "acme-py")
        self.assertTrue(sub.in_sync)

        # Reconnecting after the last sequence of a finished process: nothing more, OK.
        again = self.proc.WatchProcess(
            ppb.WatchProcessRequest(process_id=pid, after_sequence=last.sequence),
            timeout=WATCH_TIMEOUT)
        self.assertEqual(list(again), [])
        self.assertEqual(again.code(), grpc.StatusCode.OK)

    def slow_watch(self):
        """A WatchProcesses stream of create_node on a channel of its own with a tiny
        flow-control window, so that the server's sends to a reader that reads nothing block.
        Returns the channel (the caller closes it) and the stream."""
        import grpc
        ch = grpc.insecure_channel(CTX["addr"], options=[
            ("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0),
            ("grpc.enable_http_proxy", 0)])
        return ch, self.m["processes_pb2_grpc"].ProcessServiceStub(ch).WatchProcesses(
            self.m["processes_pb2"].WatchProcessesRequest(filter='workflow = "create_node"'),
            timeout=120)

    def read_until_too_slow(self, stream):
        """Reads stream to its end, which must be RESOURCE_EXHAUSTED with the cursor to resume
        after; returns how many events came before it."""
        import grpc
        got = 0
        with self.assertRaises(grpc.RpcError) as cm:
            for _ in stream:
                got += 1
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED,
                         cm.exception.details())
        self.assertIn("after_cursor", cm.exception.details())
        return got

    def test_stalled_watcher_is_ended_others_continue(self):
        """A watcher that never reads is ended with RESOURCE_EXHAUSTED and told where to resume,
        while another watcher of the same processes receives every completion."""
        ppb = self.m["processes_pb2"]
        slow_ch, slow = self.slow_watch()
        fast = self.proc.WatchProcesses(
            ppb.WatchProcessesRequest(filter='workflow = "create_node"'), timeout=120)
        ids = [self.start_create_node(f"stall-{i}") for i in range(6)]
        done = set()
        completed = ppb.PROCESS_STATUS_COMPLETED
        for ev in fast:
            if (ev.HasField("status_change") and ev.status_change.new_status == completed
                    and ev.process_id in ids):
                done.add(ev.process_id)
                if len(done) == len(ids):
                    break
        fast.cancel()
        self.assertEqual(len(done), len(ids), "the reading watcher saw every completion")
        time.sleep(3.0)  # past --watch-stall-ms
        got = self.read_until_too_slow(slow)
        self.assertLess(got, 66, "the stalled watcher did not get everything buffered")
        slow_ch.close()

    def test_burst_stays_out_of_a_stalled_readers_window(self):
        """A burst of 400 events to a watcher that reads nothing: it is ended with
        RESOURCE_EXHAUSTED, and what it receives is what its flow-control window and one
        write-buffered run of the server let through, not the burst (the rest waited in the
        server's bounded queue and was dropped; the cursor says where to resume). It took the
        hub's whole page of 100 events when every queued message went write-buffered."""
        import subprocess
        ppb = self.m["processes_pb2"]
        pid = self.start_create_node("py-burst-1")
        # Finished first, so that the stream below opens with its window empty: the burst
        # is all it gets.
        deadline = time.time() + WATCH_TIMEOUT
        while self.proc.GetProcess(ppb.GetProcessRequest(process_id=pid, view=ppb.PROCESS_VIEW_BASIC),
                                   timeout=RPC_TIMEOUT).status != ppb.PROCESS_STATUS_COMPLETED:
            self.assertLess(time.time(), deadline, "create_node did not complete")
            time.sleep(0.05)
        slow_ch, slow = self.slow_watch()
        time.sleep(0.5)  # the stream is open: live events from here
        # 400 events of the process in one statement (one NOTIFY, one burst for the hub).
        sql = ("WITH u AS (UPDATE processes SET last_event_sequence = last_event_sequence + 400 "
               f"WHERE process_id = '{pid}' RETURNING last_event_sequence) "
               "INSERT INTO process_events (process_id, sequence, kind, payload) "
               f"SELECT '{pid}'::uuid, u.last_event_sequence - 400 + g, 'callback_progress', "
               "jsonb_build_object('step_key', 'x', 'message', repeat('x', 300)) "
               "FROM u, generate_series(1, 400) g")
        subprocess.run([tp.pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        CTX["conninfo"], "-c", sql], check=True, capture_output=True)
        time.sleep(3.5)  # past --watch-stall-ms
        got = self.read_until_too_slow(slow)
        log(f"the stalled watcher received {got} of the burst's 400 events")
        self.assertLess(got, 66, "the burst went past the stalled reader's window")
        slow_ch.close()

    def test_watch_unknown_process_not_found(self):
        import grpc
        ppb = self.m["processes_pb2"]
        stream = self.proc.WatchProcess(
            ppb.WatchProcessRequest(process_id="0b4e6d7c-3f1a-4c2e-9d8b-5a6f7e8d9c0b"),
            timeout=RPC_TIMEOUT)
        with self.assertRaises(grpc.RpcError) as cm:
            list(stream)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)


def tp_uuid():
    import uuid
    return str(uuid.uuid4())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--proto-dir", required=True)
    args = ap.parse_args()

    # Stalled watchers are ended quickly here (test_stalled_watcher...).
    os.environ["ORCH_WATCH_STALL_MS"] = "1500"
    return tp.run_against_server(log, args.proto_dir, args.server_bin, "interop_python_watch",
                                 tp.run_test_case(WatchProcessTest, CTX), extra_modules=load_watch_modules)


if __name__ == "__main__":
    sys.exit(main())
