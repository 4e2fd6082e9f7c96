#!/usr/bin/python3
"""The layering rules of docs/ARCHITECTURE.md, checked on the tree and the build (issue 18).

Reads every #include of the source tree and the link lines CMake wrote for the binaries, and
fails, naming each offence, when a rule is broken:
- base/ includes nothing of the project's other layers, nor gRPC, libpq or jansson;
- domain/ includes neither gRPC, protobuf-c nor libpq, nor anything of db/, server/, client/;
- only db/ includes libpq-fe.h;
- client/ includes and links nothing from domain/ or db/;
- server/rpc/ (the transport) includes nothing from domain/ or db/;
- server/services/ makes no store call (`->TABLE->op(`, storecalls.py): it calls use cases;
- the production binary carries no test code: no ORCH_TEST_ string, no test workflow;
- no function outside tests/ is longer than 120 lines, and the daemon's main() is a short
  list of calls.

usage: layering.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import funclen  # noqa: E402
import storecalls  # noqa: E402

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
LAYERS = ('base', 'domain', 'db', 'server', 'client')


def sources(root, top):
    for d, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            if f.endswith(('.c', '.h')):
                yield os.path.join(d, f)


def read(path):
    with open(path, encoding='utf-8') as fh:
        return fh.read()


def main():
    src, build = sys.argv[1], sys.argv[2]
    bad = []
    store_call = storecalls.pattern(src)

    def rel(p):
        return os.path.relpath(p, src)

    for top in LAYERS:
        for p in sources(src, top):
            r = rel(p)
            for inc in INCLUDE.findall(read(p)):
                layer = inc.split('/')[0]
                grpc = inc.startswith('grpc/') or inc.endswith('.pb-c.h') or \
                    inc.startswith('protobuf-c/')
                if top == 'base' and (layer in LAYERS[1:] or grpc or inc in
                                      ('libpq-fe.h', 'jansson.h')):
                    bad.append(f'{r}: base/ includes {inc}')
                if top == 'domain' and (layer in ('db', 'server', 'client') or grpc or
                                        inc == 'libpq-fe.h'):
                    bad.append(f'{r}: domain/ includes {inc}')
                if inc == 'libpq-fe.h' and top != 'db':
                    bad.append(f'{r}: only db/ includes libpq-fe.h')
                if top == 'client' and layer in ('domain', 'db'):
                    bad.append(f'{r}: client/ includes {inc}')
                if r.startswith('server/rpc/') and layer in ('domain', 'db'):
                    bad.append(f'{r}: the transport (server/rpc/) includes {inc}')
            if r.startswith('server/services/') and p.endswith('.c'):
                for n, line in enumerate(read(p).splitlines(), 1):
                    m = store_call.search(line)
                    if m:
                        bad.append(f'{r}:{n}: a service calls the store directly '
                                   f'({m.group(0)}): call a use case')

    # Link lines: what CMake links into the client's binaries.
    for target, d in (('orchctl', 'client'), ('orch-loadgen', 'client')):
        link = os.path.join(build, d, 'CMakeFiles', f'{target}.dir', 'link.txt')
        if not os.path.exists(link):
            bad.append(f'{link}: missing (build the tree first)')
            continue
        for lib in ('liborch_domain', 'liborch_db'):
            if lib in read(link):
                bad.append(f'{target} links {lib}.a')

    # The production binary carries no test code.
    binary = os.path.join(build, 'server', 'orchestratord')
    out = subprocess.run(['strings', '-a', binary], capture_output=True, text=True,
                         check=True).stdout
    for needle in ('ORCH_TEST_', 'bench_noop_10', 'test_versioned'):
        if needle in out:
            bad.append(f'{rel(binary)} carries test code: "{needle}" is in its strings')

    # Function lengths, and main() a short list of calls.
    for top in ('base', 'proto', 'domain', 'db', 'server', 'client', 'bench'):
        for p in sources(src, top):
            if not p.endswith('.c'):
                continue
            for name, a, b in funclen.functions(read(p)):
                n = b - a + 1
                if n > 120:
                    bad.append(f'{rel(p)}:{a}: {name}() is {n} lines (at most 120)')
                if rel(p) == 'server/main.c' and name == 'main' and n > 40:
                    bad.append(f'{rel(p)}:{a}: main() is {n} lines: keep it a short list '
                               f'of calls (at most 40)')

    for b in bad:
        print(b)
    print(f'layering: {len(bad)} offence(s)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
