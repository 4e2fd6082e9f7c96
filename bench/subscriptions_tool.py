#!/usr/bin/env python3
"""Helpers of bench/subscriptions.sh (standard library only).

  capture LOG OFFSET CASE OUTDIR
      Reads the PostgreSQL log from byte OFFSET (written while orchestratord, connected with
      log_statement=all, served exactly one call of CASE), keeps the statements of that call
      and writes OUTDIR/CASE.sql, a pgbench script running the same statements with the same
      parameters (as pgbench variables, so -M extended sends them as $n parameters exactly as
      libpq's PQsendQueryParams did), and OUTDIR/CASE.args, the -D definitions, NUL-separated.
  pgbench-latencies LOGFILE...
      Prints the percentiles of pgbench per-transaction logs (--log), one RESULT line.
  report RESULTS_JSON META_JSON OURS PGBENCH
      Prints the table and writes the JSON.
"""
import json
import math
import os
import re
import sys

PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\] \S* ?(LOG|DETAIL|ERROR|WARNING|STATEMENT|HINT|CONTEXT|FATAL):  (.*)$")
STMT = re.compile(r"^(?:execute [^:]+|statement): (.*)$", re.S)


def log_entries(path, offset):
    """(pid, level, text) for every log entry from offset, continuation lines joined."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read().decode("utf-8", "replace")
    entries = []
    for line in data.split("\n"):
        m = PREFIX.match(line)
        if m:
            entries.append([m.group(1), m.group(2), m.group(3)])
        elif entries and line:
            entries[-1][2] += "\n" + line
    return entries


def parse_params(detail):
    """'$1 = 'a''b', $2 = NULL' -> {1: "a'b", 2: None}."""
    out, i, s = {}, 0, detail
    assert s.startswith("parameters: "), s
    i = len("parameters: ")
    while i < len(s):
        m = re.compile(r"\$(\d+) = ").match(s, i)
        if not m:
            raise ValueError("cannot parse parameters at: " + s[i:i + 40])
        n, i = int(m.group(1)), m.end()
        if s.startswith("NULL", i):
            out[n], i = None, i + 4
        else:
            assert s[i] == "'", s[i:i + 20]
            i += 1
            buf = []
            while True:
                j = s.index("'", i)
                buf.append(s[i:j])
                if j + 1 < len(s) and s[j + 1] == "'":
                    buf.append("'")
                    i = j + 2
                else:
                    i = j + 1
                    break
            out[n] = "".join(buf)
        if s.startswith(", ", i):
            i += 2
    return out


def to_pgbench(sql, params, k):
    """$n outside quotes -> :s<k>p<n>; returns (sql, {var: value})."""
    out, defs, i, q = [], {}, 0, False
    while i < len(sql):
        c = sql[i]
        if c == "'":
            q = not q
        if not q and c == "$" and i + 1 < len(sql) and sql[i + 1].isdigit():
            j = i + 1
            while j < len(sql) and sql[j].isdigit():
                j += 1
            n = int(sql[i + 1:j])
            if params.get(n) is None:
                raise ValueError("parameter $%d is NULL or missing; pgbench cannot send it" % n)
            name = "s%dp%d" % (k, n)
            defs[name] = params[n]
            out.append(":" + name)
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out), defs


def capture(log, offset, case, outdir):
    entries = log_entries(log, int(offset))
    stmts, pid, generic = [], None, False
    for idx, (p, level, text) in enumerate(entries):
        if level != "LOG":
            continue
        m = STMT.match(text)
        if not m:
            continue
        sql = m.group(1)
        about_subs = "subscription" in sql
        if pid is None:
            if not about_subs:
                continue
            pid = p
        if p != pid:
            continue
        if sql.strip() in ("BEGIN", "COMMIT"):
            continue  # db_execp_generic's frame around a statement (db/pool.c)
        if sql.startswith("SET LOCAL plan_cache_mode"):
            generic = True  # the next statement runs under a generic plan
            continue
        if not about_subs:
            break  # the call is over; the connection went back to the pool
        params = {}
        if idx + 1 < len(entries) and entries[idx + 1][0] == p and entries[idx + 1][1] == "DETAIL" \
                and entries[idx + 1][2].startswith("parameters: "):
            params = parse_params(entries[idx + 1][2])
        stmts.append((sql, params, generic))
        generic = False
    if not stmts:
        sys.exit("capture %s: no statements found in %s from byte %s" % (case, log, offset))
    lines, defs = [], {}
    for k, (sql, params, gen) in enumerate(stmts, 1):
        s, d = to_pgbench(sql, params, k)
        if "\n" in s:
            s = " ".join(s.split("\n"))
        if gen:  # marked for the plans (bench/subscriptions.sh explains it as the server runs it)
            s = "/* generic plan */ " + s
        lines.append(s.rstrip().rstrip(";") + ";")
        defs.update(d)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, case + ".sql"), "w") as f:
        f.write("-- %s: the %d statements orchestratord sent for one call, captured with "
                "log_statement=all\n" % (case, len(lines)))
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(outdir, case + ".args"), "wb") as f:
        for name, value in defs.items():
            f.write(b"-D\0" + ("%s=%s" % (name, value)).encode() + b"\0")
    print(len(lines))


def pct(sorted_vals, p):
    n = len(sorted_vals)
    rank = min(n, max(1, math.ceil(p / 100.0 * n - 1e-9)))
    return sorted_vals[rank - 1]


def pgbench_latencies(files):
    vals = []
    for path in files:
        with open(path) as f:
            for line in f:
                parts = line.split()
                # client_id transaction_no time script_no time_epoch time_us
                if len(parts) >= 6:
                    vals.append(int(parts[2]))
    if not vals:
        sys.exit("no pgbench transactions in " + " ".join(files))
    vals.sort()
    print("RESULT n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f max_us=%.1f"
          % (len(vals), pct(vals, 50), pct(vals, 90), pct(vals, 99), sum(vals) / len(vals),
             vals[0], vals[-1]))


def parse_result(line):
    return {k: (float(v) if re.fullmatch(r"[0-9.]+", v) else v)
            for k, v in (kv.split("=", 1) for kv in line.split()[1:])}


def report(out_json, meta_json, ours_file, pg_file):
    meta = json.load(open(meta_json))
    ours = {}
    for line in open(ours_file):
        if line.startswith("RESULT "):
            r = parse_result(line)
            ours[r["case"]] = r
    pg = {}
    for line in open(pg_file):
        case, rest = line.rstrip("\n").split(" ", 1)
        pg[case] = parse_result(rest)
        pg[case]["statements"] = int(pg[case].get("statements", 0))
    goal = meta["goal_ratio_p50"]
    rows = []
    for case in meta["cases"]:
        name = case["case"]
        if name not in ours or name not in pg:
            continue
        o, p = ours[name], pg[name]
        row = {
            "case": name,
            "what": case["what"],
            "statements": p["statements"],
            "items": int(o.get("items", 0)),
            "ours": {k: o[k] for k in ("n", "p50_us", "p90_us", "p99_us", "mean_us")},
            "pgbench": {k: p[k] for k in ("n", "p50_us", "p90_us", "p99_us", "mean_us")},
            "ratio_p50": round(o["p50_us"] / p["p50_us"], 2),
            "ratio_p99": round(o["p99_us"] / p["p99_us"], 2),
        }
        row["goal_met"] = row["ratio_p50"] <= goal
        rows.append(row)
    result = dict(meta, results=rows)
    with open(out_json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    ms = lambda us: "%.2f" % (us / 1000.0)
    print()
    print("SubscriptionService vs pgbench on the same SQL: %d subscriptions, %d calls per case "
          "(after %d warm-up), 1 client, %s" % (meta["size"], meta["calls"], meta["warmup"],
                                                meta["machine"]))
    print("Load average (1/5/15 min) before: %s, after: %s (anything else running skews both "
          "sides)" % (meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?")))
    print("Goal: ours/pgbench p50 <= %.1f (%s)" % (goal, meta["goal_source"]))
    hdr = ("case", "stmts", "ours p50", "ours p99", "pgb p50", "pgb p99", "x p50", "x p99", "goal")
    fmt = "%-14s %5s %9s %9s %9s %9s %6s %6s %5s"
    print()
    print(fmt % hdr + "   (latencies in ms; x = ours/pgbench)")
    print("-" * 84)
    for r in rows:
        print(fmt % (r["case"], r["statements"], ms(r["ours"]["p50_us"]), ms(r["ours"]["p99_us"]),
                     ms(r["pgbench"]["p50_us"]), ms(r["pgbench"]["p99_us"]),
                     "%.2f" % r["ratio_p50"], "%.2f" % r["ratio_p99"],
                     "met" if r["goal_met"] else "MISS"))
    print()
    for r in rows:
        print("  %-14s %s (%d in the response)" % (r["case"], r["what"], r["items"]))
    print()
    print("JSON: %s" % out_json)


def main(argv):
    if len(argv) >= 2 and argv[1] == "capture" and len(argv) == 6:
        capture(*argv[2:])
    elif len(argv) >= 3 and argv[1] == "pgbench-latencies":
        pgbench_latencies(argv[2:])
    elif len(argv) == 6 and argv[1] == "report":
        report(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
