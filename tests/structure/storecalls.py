#!/usr/bin/python3
"""What a store call looks like in C, for the tests that forbid one somewhere (layering.py,
product_steps.py). The store's interface is the tables its handle holds (struct orch_store
in domain/store.h: st->uow, st->subs, st->procs, ...), so a call is `->TABLE->op(` for one of
them. The table names are read from that struct, so a table added there is forbidden at
once. Only a call counts: `app->workers->lease_ms` in a service is its own config, not the
store's workers table."""
import os
import re

STRUCT = re.compile(r'struct orch_store \{(.*?)\};', re.S)
MEMBER = re.compile(r'^\s*const\s+\w+\s*\*\s*(\w+)\s*;', re.M)


def tables(src):
    """The names of the store handle's tables, from domain/store.h under src."""
    with open(os.path.join(src, 'domain', 'store.h'), encoding='utf-8') as fh:
        m = STRUCT.search(fh.read())
    if not m:
        raise SystemExit('storecalls: struct orch_store not found in domain/store.h')
    names = MEMBER.findall(m.group(1))
    if not names:
        raise SystemExit('storecalls: struct orch_store holds no table')
    return names


def pattern(src):
    """A regex that matches a store call, `->TABLE->op(`, on one line."""
    return re.compile(r'->(?:' + '|'.join(map(re.escape, tables(src))) + r')->\w+\s*\(')
