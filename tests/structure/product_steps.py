#!/usr/bin/python3
"""The authoring rule of docs/AUTHORING.md holds in the example products (issue 21): no function
body in a product module under domain/products/<name>/ calls the store (`->TABLE->op(`, any
table of the store handle: storecalls.py), builds JSON by hand (`json_pack`) or casts
(`(void)`). What a step needs beyond the API is added to
domain/engine/authoring.h, not written around it. Comments and strings are not code here.

Fails naming each offence as FILE:LINE: FUNCTION: WHAT.

usage: product_steps.py SOURCE_DIR
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import funclen  # noqa: E402
import storecalls  # noqa: E402

FORBIDDEN = (('json_pack', 'JSON built by hand'), ('(void)', 'a cast'))


def blank(text):
    """text with comments and the insides of strings and characters replaced by spaces (line
    breaks kept), so that line numbers still match."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
        elif text[i] in '"\'':
            j = i + 1
            while j < n and text[j] != text[i]:
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(text[i] + re.sub(r'[^\n]', ' ', text[i + 1:j - 1]) + text[i])
            i = j
            continue
        else:
            out.append(text[i])
            i += 1
            continue
        out.append(re.sub(r'[^\n]', ' ', text[i:j]))
        i = j
    return ''.join(out)


def offences(path, store_call):
    text = open(path, encoding='utf-8').read()
    lines = blank(text).split('\n')
    found = []
    for name, a, b in funclen.functions(text):
        body_started = False
        for no in range(a, b + 1):
            line = lines[no - 1]
            if not body_started:
                if '{' not in line:
                    continue
                body_started = True
                line = line[line.index('{'):]
            m = store_call.search(line)
            if m:
                found.append(f'{path}:{no}: {name}: {m.group(0)} (a store call)')
            for what, why in FORBIDDEN:
                if what in line:
                    found.append(f'{path}:{no}: {name}: {what} ({why})')
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    base = os.path.join(root, 'domain', 'products')
    bad, checked = [], 0
    store_call = storecalls.pattern(root)
    for module in sorted(os.listdir(base)):
        mdir = os.path.join(base, module)
        if not os.path.isdir(mdir):
            continue  # the module loader itself (products.c) is not a product
        for f in sorted(os.listdir(mdir)):
            if f.endswith('.c'):
                checked += 1
                bad += offences(os.path.join(mdir, f), store_call)
    for b in bad:
        print(b)
    print(f'product_steps: {checked} files of domain/products/*/ checked, {len(bad)} offences')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
