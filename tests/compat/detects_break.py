#!/usr/bin/python3
"""proto_compat_detects_break: proves that scripts/proto_compat.py catches a breaking change.

Copies proto/ to a temporary directory and breaks it on purpose:
  - renumbers Product.name (a field of a released, non-DRAFT message);
  - removes ProductService.GetProduct (a method of a released, non-DRAFT service);
and, to prove the DRAFT exemption (which must keep working after every real service left
DRAFT), adds a DRAFT service of its own to both copies, then in the broken copy:
  - removes a method of that DRAFT service;
  - renumbers a field of a message reachable only from it.
Builds the descriptor sets of the pristine and the broken copy and asserts that the check
exits 1 naming both real breaks and neither DRAFT change (against the pristine copy), and
names both real breaks against the committed baseline. Also asserts that the pristine copy
passes against itself.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def edit(path, pattern, repl, what):
    with open(path) as f:
        text = f.read()
    new, n = re.subn(pattern, repl, text, count=1, flags=re.S | re.M)
    if n != 1:
        sys.exit("detects_break: could not %s in %s (pattern %r)" % (what, path, pattern))
    with open(path, "w") as f:
        f.write(new)


def build(args, proto_dir, out):
    files = sorted(os.path.relpath(p, proto_dir)
                   for p in glob.glob(os.path.join(proto_dir, "orchestrator", "v1", "*.proto")))
    cmd = [args.protoc, "-I" + proto_dir] + ["-I" + i for i in args.include] + [
        "--include_imports", "--include_source_info", "--descriptor_set_out=" + out] + files
    subprocess.run(cmd, check=True, cwd=proto_dir)


def run_check(args, old, new):
    r = subprocess.run([args.python, args.script, old, new], capture_output=True, text=True)
    sys.stdout.write("--- proto_compat %s %s -> exit %d\n%s%s---\n" % (
        os.path.basename(old), os.path.basename(new), r.returncode, r.stdout, r.stderr))
    return r.returncode, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--protoc", default="protoc")
    ap.add_argument("--script", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--include", action="append", default=[])
    ap.add_argument("--baseline", required=True)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="proto-compat-") as tmp:
        pristine_dir = os.path.join(tmp, "pristine")
        broken_dir = os.path.join(tmp, "broken")
        shutil.copytree(args.proto_dir, pristine_dir)
        shutil.copytree(args.proto_dir, broken_dir)
        draft = (
            'syntax = "proto3";\n'
            "package orchestrator.v1;\n"
            "// Only reachable from the DRAFT service below.\n"
            "message CompatDraftThing {\n  string label = 1;\n  int32 count = 2;\n}\n"
            "// DRAFT until A future issue\n"
            "service CompatDraftService {\n"
            "  rpc GetThing(CompatDraftThing) returns (CompatDraftThing);\n"
            "  rpc DropThing(CompatDraftThing) returns (CompatDraftThing);\n"
            "}\n")
        for d in (pristine_dir, broken_dir):
            with open(os.path.join(d, "orchestrator", "v1", "zz_compat_draft.proto"), "w") as f:
                f.write(draft)
        v1 = os.path.join(broken_dir, "orchestrator", "v1")

        products = os.path.join(v1, "products.proto")
        edit(products, r"(^message Product \{.*?^\s*string name = )2;",
             r"\g<1>98;", "renumber Product.name")
        edit(products, r"^\s*rpc GetProduct\(GetProductRequest\) returns \(Product\);\n",
             "", "remove ProductService.GetProduct")
        dr = os.path.join(v1, "zz_compat_draft.proto")
        edit(dr, r"^\s*rpc DropThing\([^;]*;\n", "", "remove CompatDraftService.DropThing")
        edit(dr, r"(^\s*int32 count = )2;", r"\g<1>99;", "renumber CompatDraftThing.count")

        pristine_pb = os.path.join(tmp, "pristine.pb")
        broken_pb = os.path.join(tmp, "broken.pb")
        build(args, pristine_dir, pristine_pb)
        build(args, broken_dir, broken_pb)

        rc, _ = run_check(args, pristine_pb, pristine_pb)
        check(rc == 0, "an unchanged contract is compatible with itself")

        for label, old in (("pristine copy", pristine_pb), ("committed baseline", args.baseline)):
            rc, out = run_check(args, old, broken_pb)
            check(rc == 1, "broken copy vs %s: exit 1" % label)
            check(re.search(r"orchestrator\.v1\.Product\.name\b.*renumbered to 98", out)
                  is not None, "broken copy vs %s: names the renumbered Product.name" % label)
            check(re.search(r"orchestrator\.v1\.ProductService\.GetProduct\b.*removed", out)
                  is not None, "broken copy vs %s: names the removed GetProduct" % label)
            if label == "pristine copy":
                check("DropThing" not in out,
                      "broken copy vs %s: a DRAFT service's method may go" % label)
                check("CompatDraftThing" not in out,
                      "broken copy vs %s: a DRAFT-only message may change" % label)

    if FAILURES:
        print("proto_compat_detects_break: %d check(s) failed" % len(FAILURES))
        return 1
    print("proto_compat_detects_break: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
