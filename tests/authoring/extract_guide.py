#!/usr/bin/env python3
"""Turns a Markdown guide into the shell script that does what it says (docs/AUTHORING.md).

Fenced blocks whose info string is "sh guide" are commands, copied as they are; blocks with
"file=PATH" are file contents: the first such block for a PATH writes it, later ones append.
Everything else is prose. The script keeps the guide's order, so a file is written exactly
where the guide writes it. Usage: extract_guide.py GUIDE.md > guide.sh"""
import re
import sys


def blocks(text):
    """(info, body, line) of every fenced block, in order."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,})(.*)$", lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group(1), m.group(2).strip(), i + 1
        j = start
        while j < len(lines) and not re.match("^" + fence + r"\s*$", lines[j]):
            j += 1
        if j == len(lines):
            sys.exit(f"{start}: a fenced block is not closed")
        yield info, "\n".join(lines[start:j]), start
        i = j + 1


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = ["# Generated from %s by tests/authoring/extract_guide.py." % path,
           "set -euo pipefail"]
    written, ncmd, nfile = set(), 0, 0
    for info, body, line in blocks(text):
        words = info.split()
        target = next((w[5:] for w in words if w.startswith("file=")), None)
        if words[:2] == ["sh", "guide"]:
            ncmd += 1
            out.append(f"echo \"--- {path}:{line} [$(date +%T)]\" >&2")
            out.append(body)
        elif target:
            nfile += 1
            if target.startswith("/") or ".." in target.split("/"):
                sys.exit(f"{path}:{line}: file={target} must be a path inside the repository")
            mode = ">>" if target in written else ">"
            written.add(target)
            delim = f"GUIDE_EOF_{nfile}"
            if delim in body:
                sys.exit(f"{path}:{line}: the block contains {delim}")
            out.append(f"echo '--- {path}:{line}: {target}' >&2")
            out.append(f"mkdir -p \"$(dirname '{target}')\"")
            out.append(f"cat {mode} '{target}' <<'{delim}'\n{body}\n{delim}")
    if ncmd == 0 or nfile == 0:
        sys.exit(f"{path}: no 'sh guide' or 'file=' blocks: nothing would be tested")
    print("\n".join(out))
    print(f"# {ncmd} command blocks, {nfile} file blocks", file=sys.stderr)


if __name__ == "__main__":
    main()
