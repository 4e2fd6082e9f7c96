#!/usr/bin/python3
"""Interop test: the client scenario of issue 9 with a Python gRPC client.

Generates Python code from the contract with protoc (the helpers of test_products.py),
creates a fresh database, starts the server on a free port and runs the scenario that
tests/interop/node/scenario.js runs too:

  1. ListProducts (every page);
  2. create_node with its one-page form, watched to completion;
  3. create_port through its form pages: StartProcess with no answers gives page 0 (the
     node, the new node among the choices), page 0 answered gives page 1 (the node's free
     ports), both answered give the process; WatchProcess follows it to completion (the
     configuration push is skipped: ORCH_SIM_CALLBACK_DIR is removed from the server's
     environment);
  4. GetSubscription: the port is active and in sync;
  5. terminate_port: the watch sees the process suspend on the confirm_removal input step,
     ResumeProcess answers its form, the watch follows it to completion; the port is
     terminated with an end_time.

SIGTERM must then stop the server with exit status 0. Needs ORCH_TEST_PGHOST,
ORCH_TEST_PGPORT and ORCH_TEST_PGUSER (scripts/test.sh sets them); without them it exits
non-zero. Server logs go to ORCH_TEST_LOG_DIR when it is set.

Usage: test_scenario.py --server-bin PATH --proto-dir DIR
"""
import argparse
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import test_products as tp  # noqa: E402  (generation, database and server helpers)

RPC_TIMEOUT = 10.0
WATCH_TIMEOUT = 60.0
CUSTOMER = "acme-interop-py"

CTX = {}


def log(msg):
    print(f"interop_python_scenario: {msg}", file=sys.stderr, flush=True)


def load_scenario_modules():
    from orchestrator.v1 import (processes_pb2, processes_pb2_grpc,  # noqa: E402 (generated)
                                 subscriptions_pb2, subscriptions_pb2_grpc)
    return dict(processes_pb2=processes_pb2, processes_pb2_grpc=processes_pb2_grpc,
                subscriptions_pb2=subscriptions_pb2,
                subscriptions_pb2_grpc=subscriptions_pb2_grpc)


def struct(d):
    from google.protobuf import struct_pb2
    s = struct_pb2.Struct()
    s.update(d)
    return s


def form_choices(page, field):
    """The "enum" of one property of a FormPage's JSON Schema, as a Python list."""
    from google.protobuf import json_format
    schema = json_format.MessageToDict(page.form)
    return list(schema.get("properties", {}).get(field, {}).get("enum", []))


class ScenarioTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        m = CTX["mods"]
        cls.m = m
        cls.ppb = m["processes_pb2"]
        cls.spb = m["subscriptions_pb2"]
        cls.prod = m["products_pb2_grpc"].ProductServiceStub(CTX["channel"])
        cls.proc = m["processes_pb2_grpc"].ProcessServiceStub(CTX["channel"])
        cls.subs = m["subscriptions_pb2_grpc"].SubscriptionServiceStub(CTX["channel"])

    # -- helpers ---------------------------------------------------------------------------

    def start(self, workflow, pages, product_id="", subscription_id="", request_id=""):
        return self.proc.StartProcess(
            self.ppb.StartProcessRequest(workflow_name=workflow, product_id=product_id,
                                         subscription_id=subscription_id,
                                         user_inputs=[struct(p) for p in pages],
                                         request_id=request_id),
            timeout=RPC_TIMEOUT)

    def watch(self, pid, on_suspended=None):
        """Follows pid from a snapshot to the end of the stream; returns the events.

        on_suspended(form_page) is called when the process waits for an input step (from the
        snapshot or from a STATUS_CHANGED event) and must resume it."""
        import grpc
        kinds, statuses = self.ppb.ProcessEventKind, self.ppb.ProcessStatus
        suspended = statuses.Value("PROCESS_STATUS_SUSPENDED")
        stream = self.proc.WatchProcess(
            self.ppb.WatchProcessRequest(process_id=pid, after_sequence=0), timeout=WATCH_TIMEOUT)
        events, resumed = [], 0
        for ev in stream:  # ends when the server closes the stream (completed or aborted)
            events.append(ev)
            self.assertLess(len(events), 1000, "the stream does not end")
            self.assertEqual(ev.process_id, pid)
            form = None
            if ev.WhichOneof("payload") == "snapshot" and \
                    ev.snapshot.process.status == suspended:
                form = ev.snapshot.process.form
            elif ev.WhichOneof("payload") == "status_change" and \
                    ev.status_change.new_status == suspended:
                form = ev.status_change.form
            if form is not None:
                self.assertIsNotNone(on_suspended, f"unexpected suspension: {ev}")
                if not form.HasField("form"):
                    # The server does not (yet) put the form on the STATUS_CHANGED event:
                    # read it from the process, as any client may.
                    form = self.proc.GetProcess(
                        self.ppb.GetProcessRequest(process_id=pid),
                        timeout=RPC_TIMEOUT).form
                on_suspended(form)
                resumed += 1
        self.assertEqual(stream.code(), grpc.StatusCode.OK, stream.details())
        self.assertGreaterEqual(len(events), 2, f"events: {events}")
        self.assertEqual(events[0].kind, kinds.Value("PROCESS_EVENT_KIND_SNAPSHOT"))
        for prev, ev in zip(events, events[1:]):
            self.assertEqual(ev.sequence, prev.sequence + 1,
                             f"sequence {ev.sequence} after {prev.sequence}")
        last = events[-1]
        self.assertEqual(last.kind, kinds.Value("PROCESS_EVENT_KIND_STATUS_CHANGED"), str(last))
        self.assertEqual(last.status_change.new_status,
                         statuses.Value("PROCESS_STATUS_COMPLETED"), str(last))
        if on_suspended is not None:
            self.assertEqual(resumed, 1, "the input step was not seen exactly once")
        log(f"watched {pid}: {len(events)} events, "
            f"{[kinds.Name(e.kind) for e in events]}")
        return events

    def only_subscription(self, pid):
        p = self.proc.GetProcess(self.ppb.GetProcessRequest(process_id=pid), timeout=RPC_TIMEOUT)
        self.assertEqual(p.status, self.ppb.ProcessStatus.Value("PROCESS_STATUS_COMPLETED"))
        self.assertEqual(len(p.subscription_ids), 1, f"subscriptions: {p.subscription_ids}")
        return p, p.subscription_ids[0]

    def get_sub(self, sid):
        return self.subs.GetSubscription(self.spb.GetSubscriptionRequest(subscription_id=sid),
                                         timeout=RPC_TIMEOUT)

    # -- the scenario ----------------------------------------------------------------------

    def test_scenario(self):
        ss = self.spb.SubscriptionStatus

        # 1. The products, every page.
        products, token = {}, ""
        while True:
            resp = self.prod.ListProducts(
                self.m["products_pb2"].ListProductsRequest(page_size=4, page_token=token),
                timeout=RPC_TIMEOUT)
            products.update({p.name: p.product_id for p in resp.products})
            token = resp.next_page_token
            if not token:
                break
            self.assertLess(len(products), 1000, "pagination does not end")
        self.assertGreaterEqual(len(products), tp.MIN_PRODUCTS, f"products: {products}")
        for name in ("node Nokia", "port 10G"):
            self.assertIn(name, products)
        log(f"{len(products)} products")

        # 2. A node: one form page, all answers at once.
        resp = self.start("create_node",
                          [{"customer_id": CUSTOMER, "node_name": "py-scn-r1", "role_id": 1,
                            "type_id": 2, "site_id": 3}],
                          product_id=products["node Nokia"], request_id=str(uuid.uuid4()))
        self.assertEqual(resp.WhichOneof("result"), "process", str(resp))
        node_pid = resp.process.process_id
        self.watch(node_pid)
        _, node_sub = self.only_subscription(node_pid)
        self.assertEqual(self.get_sub(node_sub).status, ss.Value("SUBSCRIPTION_STATUS_ACTIVE"))

        # 3. A port through its form pages.
        port_product = products["port 10G"]
        resp = self.start("create_port", [], product_id=port_product)
        self.assertEqual(resp.WhichOneof("result"), "next_page", str(resp))
        self.assertEqual(resp.next_page.page_index, 0)
        self.assertIn(node_sub, form_choices(resp.next_page, "node_subscription_id"))
        page0 = {"customer_id": CUSTOMER, "node_subscription_id": node_sub}

        resp = self.start("create_port", [page0], product_id=port_product)
        self.assertEqual(resp.WhichOneof("result"), "next_page", str(resp))
        self.assertEqual(resp.next_page.page_index, 1)
        free = form_choices(resp.next_page, "port_name")
        self.assertTrue(free, f"no free ports offered: {resp.next_page}")
        log(f"page 1 '{resp.next_page.title}' offers {free}")
        page1 = {"port_name": free[0], "port_mode": "tagged"}

        rid = str(uuid.uuid4())
        resp = self.start("create_port", [page0, page1], product_id=port_product,
                          request_id=rid)
        self.assertEqual(resp.WhichOneof("result"), "process", str(resp))
        port_pid = resp.process.process_id
        self.watch(port_pid)

        # 4. The port subscription: active and in sync.
        _, port_sub = self.only_subscription(port_pid)
        sub = self.get_sub(port_sub)
        self.assertEqual(sub.status, ss.Value("SUBSCRIPTION_STATUS_ACTIVE"))
        self.assertTrue(sub.in_sync)
        self.assertEqual(sub.customer_id, CUSTOMER)
        self.assertEqual(sub.product.name, "port 10G")

        # 5. Terminate it: no start form; the confirm_removal input step suspends it.
        resp = self.start("terminate_port", [], subscription_id=port_sub,
                          request_id=str(uuid.uuid4()))
        self.assertEqual(resp.WhichOneof("result"), "process", str(resp))
        term_pid = resp.process.process_id

        def confirm(form):
            self.assertIn("yes", form_choices(form, "cable_removed"), f"form: {form}")
            r = self.proc.ResumeProcess(
                self.ppb.ResumeProcessRequest(
                    process_id=term_pid,
                    user_inputs=[struct({"cable_removed": "yes", "ticket": "CHG-9"})],
                    request_id=str(uuid.uuid4())),
                timeout=RPC_TIMEOUT)
            self.assertEqual(r.WhichOneof("result"), "process", str(r))

        self.watch(term_pid, on_suspended=confirm)
        p = self.proc.GetProcess(self.ppb.GetProcessRequest(process_id=term_pid),
                                 timeout=RPC_TIMEOUT)
        self.assertEqual(p.status, self.ppb.ProcessStatus.Value("PROCESS_STATUS_COMPLETED"))
        self.assertIn("confirm_removal", [s.key for s in p.steps])
        sub = self.get_sub(port_sub)
        self.assertEqual(sub.status, ss.Value("SUBSCRIPTION_STATUS_TERMINATED"))
        self.assertTrue(sub.HasField("end_time"))
        log(f"port {port_sub} terminated")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--proto-dir", required=True)
    args = ap.parse_args()

    # The configuration push is a callback step, skipped unless this is set: the scenario
    # does not play the provisioning system.
    os.environ.pop("ORCH_SIM_CALLBACK_DIR", None)
    return tp.run_against_server(log, args.proto_dir, args.server_bin, "interop_python_scenario",
                                 tp.run_test_case(ScenarioTest, CTX), extra_modules=load_scenario_modules)


if __name__ == "__main__":
    sys.exit(main())
