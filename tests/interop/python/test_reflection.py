#!/usr/bin/python3
"""Interop test: server reflection (grpc.reflection.v1 and v1alpha) is enough to call the API.

A client that has no .proto file of the orchestrator (only the reflection protocol's own,
from Debian's grpc-proto) lists the services, fetches the file that defines
orchestrator.v1.ProductService with its dependencies, builds a descriptor pool from those
answers alone and calls ListProducts with it: what grpcurl and Postman do.

Usage: test_reflection.py --server-bin PATH --proto-dir DIR
"""
import argparse
import os
import secrets
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_products as tp  # noqa: E402  (server start/stop and database helpers)

GRPC_PROTO = "/usr/share/grpc-proto"


def reflection_modules(out_dir, version):
    protoc = tp.find_tool("protoc", ["/usr/bin/protoc"])
    src = f"grpc/reflection/{version}/reflection.proto"
    gen = os.path.join(out_dir, "refl_" + version)
    os.makedirs(gen, exist_ok=True)
    subprocess.run([protoc, f"-I{GRPC_PROTO}", f"--python_out={gen}", src], check=True)
    # Import by path: the generated package name collides with the grpc package.
    import importlib.util
    path = os.path.join(gen, "grpc", "reflection", version, "reflection_pb2.py")
    spec = importlib.util.spec_from_file_location(f"refl_{version}_pb2", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ask(channel, refl, version, requests):
    import grpc
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=refl.ServerReflectionRequest.SerializeToString,
        response_deserializer=refl.ServerReflectionResponse.FromString)
    return list(call(iter(requests), timeout=tp.RPC_TIMEOUT))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    tp.log("ok   " + what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--proto-dir", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="orch-reflection-py-")
    pg, missing = tp.pg_env()
    if pg is None:
        tp.log(f"NOT RUN: {', '.join(missing)} not set; failing rather than passing silently")
        return 2
    mods = tp.load_modules(tp.generate(args.proto_dir, tmp))  # health only, for start-up
    dbname = f"orch_refl_py_{os.getpid()}_{secrets.token_hex(4)}"
    tp.createdb(pg, dbname)
    conninfo = f"host={pg['host']} port={pg['port']} user={pg['user']} dbname={dbname}"
    log_dir = os.environ.get("ORCH_TEST_LOG_DIR") or tmp
    os.makedirs(log_dir, exist_ok=True)
    proc = channel = None
    ok = False
    try:
        proc, addr, channel = tp.start_server(args.server_bin, conninfo,
                                              os.path.join(log_dir, f"reflection.{dbname}.log"),
                                              mods)
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        for version in ("v1", "v1alpha"):
            refl = reflection_modules(tmp, version)
            answers = ask(channel, refl, version, [refl.ServerReflectionRequest(list_services="")])
            names = {s.name for s in answers[0].list_services_response.service}
            check("orchestrator.v1.ProductService" in names and
                  "grpc.health.v1.Health" in names and
                  f"grpc.reflection.{version}.ServerReflection" in names,
                  f"{version}: list_services names the API, health and reflection ({len(names)})")

        refl = reflection_modules(tmp, "v1")
        answers = ask(channel, refl, "v1", [
            refl.ServerReflectionRequest(file_containing_symbol="orchestrator.v1.ProductService"),
            refl.ServerReflectionRequest(file_containing_symbol="no.such.Thing"),
        ])
        files = answers[0].file_descriptor_response.file_descriptor_proto
        check(len(files) >= 3, f"the file of ProductService comes with its imports ({len(files)})")
        check(answers[1].error_response.error_code == 5, "an unknown symbol is NOT_FOUND")

        # A pool built from the answers alone.
        pool = descriptor_pool.DescriptorPool()
        for raw in files:
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
            pool.Add(fd)
        svc = pool.FindServiceByName("orchestrator.v1.ProductService")
        method = svc.FindMethodByName("ListProducts")
        factory = message_factory.MessageFactory(pool)
        req_cls = factory.GetPrototype(method.input_type)
        resp_cls = factory.GetPrototype(method.output_type)
        call = channel.unary_unary("/orchestrator.v1.ProductService/ListProducts",
                                   request_serializer=req_cls.SerializeToString,
                                   response_deserializer=resp_cls.FromString)
        resp = call(req_cls(page_size=100), timeout=tp.RPC_TIMEOUT)
        names = [p.name for p in resp.products]
        check(len(names) >= tp.MIN_PRODUCTS and "node Cisco" in names,
              f"ListProducts through the reflected descriptors: {len(names)} products")
        ok = True
    finally:
        if channel is not None:
            channel.close()
        if proc is not None:
            rc, _ = tp.stop_server(proc)
            if rc != 0:
                tp.log(f"server exit status {rc}")
                ok = False
        tp.dropdb(pg, dbname)
    tp.log("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
