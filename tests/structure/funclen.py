#!/usr/bin/python3
"""Lists C functions longer than a limit (default 120 lines, from the line of the opening
brace's declaration to the closing brace), outside tests/. A function is a top-level '{'
whose preceding text ends in ')' (a definition), found by a small lexer that skips strings,
characters and comments, so braces inside them do not count."""
import os
import re
import sys


def functions(text):
    i, n, depth, line = 0, len(text), 0, 1
    start_line, name, last = None, None, []
    out = []
    sig = []  # text at depth 0 since the last ';' or '}'
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            line += text.count('\n', i, j)
            i = j
            continue
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
            continue
        if c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            line += text.count('\n', i, j)
            i = j + 1
            continue
        if c == '#' and depth == 0 and (i == 0 or text[i - 1] == '\n'):
            j = i
            while True:
                k = text.find('\n', j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != '\\':
                    break
                j = k + 1
            line += text.count('\n', i, k)
            i = k
            continue
        if c == '{':
            if depth == 0:
                s = ''.join(sig).strip()
                m = re.search(r'(\w+)\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*$', s)
                name = m.group(1) if m else None
                start_line = line - s.count('\n', s.rfind(name) if name else len(s))
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                if name:
                    out.append((name, start_line, line))
                sig = []
                i += 1
                continue
        elif c == ';' and depth == 0:
            sig = []
            i += 1
            continue
        if depth == 0:
            sig.append(c)
        i += 1
    return out


def main():
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 120
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    bad = []
    for top in ('base', 'domain', 'db', 'server', 'client', 'bench'):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith('.c'):
                    continue
                p = os.path.join(d, f)
                with open(p, encoding='utf-8') as fh:
                    text = fh.read()
                for name, a, b in functions(text):
                    if b - a + 1 > limit:
                        bad.append((b - a + 1, os.path.relpath(p, root), name, a))
    for length, p, name, a in sorted(bad, reverse=True):
        print(f'{p}:{a}: {name}() is {length} lines (limit {limit})')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
