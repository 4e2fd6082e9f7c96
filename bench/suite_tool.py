#!/usr/bin/env python3
"""Helpers of bench/run.sh (standard library only).

  step-script LOG OFFSET OUTDIR
      Reads the PostgreSQL log from byte OFFSET, written while orchestratord (its database
      set to log_statement=all, one worker) ran one bench_noop_10 process, and writes
      OUTDIR/commit.sql: the statements of one whole step of that process (the claim, the
      reads, the step start, the commit transaction), taken from a step in the middle, as
      a pgbench script; OUTDIR/commit.args: its -D definitions (NUL-separated). What the
      engine carries from one statement to the next is carried the same way: the claim's
      RETURNING and the commit's RETURNING go into pgbench variables (\\gset c_), so the
      process id, the lease token and the event sequence come from the database exactly as
      the worker gets them, and the script can run again and again on a pool of runnable
      processes. The step key is a random number per run of the script (a process does a
      step key once). A NULL parameter becomes the literal NULL (a pgbench variable cannot be
      NULL). Prints "REPLICA <replica id> STATEMENTS <n>".
  report RAW OUT_JSON
      Reads the RESULT records run.sh collected, prints the table and writes the JSON.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from subscriptions_tool import log_entries, parse_params  # noqa: E402

STMT = re.compile(r"^(?:execute [^:]+|statement): (.*)$", re.S)


def statements(log, offset):
    """[(pid, sql, params)] in log order."""
    entries = log_entries(log, int(offset))
    out = []
    for idx, (pid, level, text) in enumerate(entries):
        if level != "LOG":
            continue
        m = STMT.match(text)
        if not m:
            continue
        params = {}
        if idx + 1 < len(entries) and entries[idx + 1][0] == pid and entries[idx + 1][1] == "DETAIL" \
                and entries[idx + 1][2].startswith("parameters: "):
            params = parse_params(entries[idx + 1][2])
        out.append((pid, " ".join(m.group(1).split()), params))
    return out


def step_script(log, offset, outdir):
    stmts = statements(log, offset)
    inserts = [i for i, s in enumerate(stmts) if s[1].startswith("INSERT INTO process_steps")]
    if len(inserts) < 3:
        sys.exit("step-script: fewer than 3 step commits in the log from byte %s" % offset)
    k = min(5, len(inserts) - 2)  # a step in the middle: status 'running' before and after
    pid = stmts[inserts[k]][0]
    process_id = stmts[inserts[k]][2][1]
    step_key = stmts[inserts[k]][2][2]

    def commit_after(i):
        for j in range(i, len(stmts)):
            if stmts[j][0] == pid and stmts[j][1] == "COMMIT":
                return j
        sys.exit("step-script: no COMMIT after statement %d" % i)

    lo, hi = commit_after(inserts[k - 1]) + 1, commit_after(inserts[k])
    cycle, dropped = [], []
    for p, sql, params in stmts[lo:hi + 1]:
        if p != pid:
            continue
        ours = (sql in ("BEGIN", "COMMIT") or "pg_notify('orch_engine'" in sql
                or sql.startswith("UPDATE processes p SET lease_owner = $1")
                or process_id in params.values())
        (cycle if ours else dropped).append((sql, params))
    for sql, _ in dropped:
        print("step-script: not part of the step (timer work on the same connection): %s"
              % sql[:100], file=sys.stderr)
    tok = seq = replica = None
    for sql, params in cycle:
        if sql.startswith("UPDATE processes p SET lease_owner = $1"):
            replica = params[1]
        m = re.search(r"lease_token = \$(\d+)", sql)
        if m and tok is None and not sql.startswith("UPDATE processes p SET lease_owner"):
            tok = params[int(m.group(1))]
        if sql.startswith("INSERT INTO process_events") and "step_committed" in sql:
            seq = params[2]
    if not (tok and seq and replica):
        sys.exit("step-script: cannot find the lease token, the event sequence or the replica")

    # A step key is done once per process (unique index process_steps_once): each replayed
    # step gets a fresh one, a number instead of the captured key.
    lines, defs = ["\\set c_step_key random(1, 2000000000)"], {}
    for n, (sql, params) in enumerate(cycle, 1):
        def var(match):
            i = int(match.group(1))
            v = params.get(i)
            if v is None:
                return "NULL"  # pgbench variables cannot be NULL; the server sent a NULL
            if v == "":
                return "''"  # nor empty (-D "name=" is refused): the literal, as sent
            if v == process_id:
                return ":c_process_id"
            if v == tok and "lease_token" in sql:
                return ":c_lease_token"
            if v == seq and sql.startswith("INSERT INTO process_events"):
                return ":c_last_event_sequence"
            if v == step_key:
                return ":c_step_key"
            name = "s%dp%d" % (n, i)
            defs[name] = v
            return ":" + name

        # $n outside string literals (the statements have no $ inside literals).
        text = re.sub(r"\$(\d+)", var, sql)
        if sql.startswith("UPDATE processes p SET lease_owner = $1") or \
                (sql.startswith("UPDATE processes SET last_status") and "RETURNING" in sql):
            lines.append(text + " \\gset c_")
        else:
            lines.append(text + ";")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "commit.sql"), "w") as f:
        f.write("-- One step of bench_noop_10 as orchestratord's worker sent it (captured with "
                "log_statement=all), step %d of process %s\n" % (k + 1, process_id))
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(outdir, "commit.args"), "wb") as f:
        for name, value in defs.items():
            f.write(b"-D\0" + ("%s=%s" % (name, value)).encode() + b"\0")
    print("REPLICA %s STATEMENTS %d" % (replica, len(lines) - 1))


# ---- report -------------------------------------------------------------------------------

def parse_raw(path):
    """Lines 'NAME key=value ...' -> {NAME: {key: value}} (numbers as float)."""
    recs = {}
    for line in open(path):
        parts = line.split()
        if len(parts) < 2:
            continue
        r = {}
        for kv in parts[1:]:
            if "=" not in kv:
                continue
            k, v = kv.split("=", 1)
            try:
                r[k] = float(v)
            except ValueError:
                r[k] = v
        recs.setdefault(parts[0], {}).update(r)
    return recs


def report(raw, out_json):
    R = parse_raw(raw)
    meta = {k: (v.replace("~", " ") if isinstance(v, str) else v)
            for k, v in R.get("meta", {}).items()}
    rows = []

    def row(section, figure, value, unit, baseline_name=None, baseline=None, goal=None,
            goal_text=None, higher_is_better=True, note=None):
        ratio = None
        if value is not None and baseline not in (None, 0):
            ratio = value / baseline
        met = None
        if goal is not None and ratio is not None:
            met = ratio >= goal if higher_is_better else ratio <= goal
        rows.append({"section": section, "figure": figure, "value": value, "unit": unit,
                     "baseline_name": baseline_name, "baseline": baseline,
                     "ratio": None if ratio is None else round(ratio, 3), "goal": goal_text,
                     "goal_met": met, "note": note})

    def g(name, key):
        v = R.get(name, {}).get(key)
        return v if isinstance(v, float) else None

    # Alternating rounds (NAME_1, NAME_2, ...) are averaged into NAME.
    for base in ("get_product", "echo", "get_subscription", "pgbench_commit_r1", "pgbench_commit_r2",
                 "pgbench_commit_r3"):
        rounds = [R[k] for k in sorted(R)
                  if re.fullmatch(re.escape(base) + r"_(\d+|first|second)", k)]
        if rounds:
            R[base] = {k: sum(r[k] for r in rounds) / len(rounds)
                       for k in rounds[0] if all(isinstance(r.get(k), float) for r in rounds)}
            R[base]["rounds"] = float(len(rounds))

    # 1. transport
    echo = g("echo", "rps")
    gp, gs, pgb = g("get_product", "rps"), g("get_subscription", "rps"), g("pgbench_getsub", "tps")
    if gp is not None:
        row("1 transport", "GetProduct req/s", gp, "req/s", "echo req/s", echo, 0.8, ">= 0.8x echo",
            note="mean of %d alternating rounds each" % R["get_product"].get("rounds", 1))
        for k in ("p50_us", "p99_us"):
            row("1 transport", "GetProduct %s" % k[:3], g("get_product", k) / 1000, "ms",
                "echo %s" % k[:3], g("echo", k) / 1000, None, higher_is_better=False)
    if gs is not None:
        # Issue 20: from memory against the product read beside it, the same load.
        row("1 transport", "GetSubscription from memory req/s", gs, "req/s", "GetProduct req/s",
            gp, 0.5, ">= 0.5x GetProduct",
            note="mean of %d alternating rounds" % R["get_subscription"].get("rounds", 1))
        for k in ("p50_us", "p99_us"):
            row("1 transport", "GetSubscription from memory %s" % k[:3],
                g("get_subscription", k) / 1000, "ms", "GetProduct %s" % k[:3],
                g("get_product", k) / 1000, None, higher_is_better=False)
    if g("get_subscription_strong", "rps") is not None:
        row("1 transport", "GetSubscription STRONG req/s", g("get_subscription_strong", "rps"),
            "req/s", "GetProduct req/s", gp, None,
            note="one indexed round trip (the stamp), then memory")
    miss = g("get_subscription_miss", "rps")
    if miss is not None:
        row("1 transport", "GetSubscription miss path req/s (8 in flight)", miss, "req/s",
            "pgbench tps, its statement (%d) x 8 sessions" % g("pgbench_getsub", "statements"),
            pgb, 0.8, ">= 0.8x pgbench")
        row("1 transport", "GetSubscription miss path p50", g("get_subscription_miss", "p50_us") / 1000,
            "ms", "pgbench mean latency", g("pgbench_getsub", "latency_ms"), None,
            higher_is_better=False)
    # The same by h2load, the independent load generator.
    h2 = {k: g(k, "rps") for k in ("h2_get_product", "h2_echo", "h2_get_subscription",
                                   "h2_get_subscription_strong", "h2_get_subscription_miss")}
    if h2["h2_get_product"] is not None:
        row("1 transport", "h2load GetProduct req/s", h2["h2_get_product"], "req/s",
            "h2load echo req/s", h2["h2_echo"], 0.8, ">= 0.8x echo")
        row("1 transport", "h2load GetSubscription from memory req/s", h2["h2_get_subscription"],
            "req/s", "h2load GetProduct req/s", h2["h2_get_product"], 0.5, ">= 0.5x GetProduct",
            note="%.0f bytes per answer" % (g("h2_get_subscription", "bytes_per_answer") or 0))
        row("1 transport", "h2load GetSubscription STRONG req/s", h2["h2_get_subscription_strong"],
            "req/s", "h2load GetProduct req/s", h2["h2_get_product"], None)
    if h2["h2_get_subscription_miss"] is not None:
        row("1 transport", "h2load GetSubscription miss path req/s",
            h2["h2_get_subscription_miss"], "req/s", "pgbench tps (8 sessions)", pgb, 0.8,
            ">= 0.8x pgbench", note="h2load keeps %d x %d in flight" % (4, 8))

    # 2. commit ceiling
    for r in (1, 2, 3):
        ours, base = g("commit_r%d" % r, "steps_per_s"), g("pgbench_commit_r%d" % r, "tps")
        if ours is None:
            continue
        row("2 commit", "steps/s, %d replica%s (%d workers, %d processes)"
            % (r, "s" if r > 1 else "", g("commit_r%d" % r, "workers"),
               g("commit_r%d" % r, "concurrency")), ours, "steps/s",
            "pgbench, the step's statements, -c %d" % g("pgbench_commit_r%d" % r, "clients"), base,
            0.5, ">= 0.5x pgbench")

    prep = g("pgbench_commit_prepared", "tps")
    if prep is not None and g("commit_r1", "steps_per_s") is not None:
        row("2 commit", "steps/s, 1 replica, against the same statements prepared",
            g("commit_r1", "steps_per_s"), "steps/s", "pgbench -M prepared, -c %d"
            % g("pgbench_commit_prepared", "clients"), prep, None,
            note="no goal: what prepared statements alone would give the ceiling")

    # 3. graphile-worker
    ours1 = g("commit_r1", "steps_per_s")
    for mode in ("defaults", "batched"):
        theirs = g("graphile_%s" % mode, "jobs_per_s")
        if theirs is None or ours1 is None:
            continue
        row("3 peer queue", "our steps/s vs graphile-worker %s jobs/s (concurrency %d)"
            % (mode, g("graphile_%s" % mode, "concurrency")), ours1, "steps/s",
            "graphile-worker %s jobs/s" % mode, theirs, 1.0, ">= 1.0x")

    # 4. start latency
    step_ms = g("pgbench_commit_r1", "latency_ms")
    for load in ("light", "half"):
        n = "start_%s" % load
        if n not in R:
            continue
        what = "%.1f processes/s" % g(n, "rate")
        for k, label in (("first_p50_ms", "start -> first step p50"),
                         ("first_p99_ms", "start -> first step p99"),
                         ("done_p50_ms", "start -> completed p50"),
                         ("done_p99_ms", "start -> completed p99"),
                         ("rpc_p50_us", "StartProcess call p50"),
                         ("rpc_p99_us", "StartProcess call p99")):
            base = step_ms * (3 if k.startswith("done") else 1) if step_ms else None
            v = g(n, k)
            if v is not None and k.endswith("_us"):
                v = v / 1000
            rpc = k.startswith("rpc")
            row("4 start latency", "%s, %s (%s)" % (label, load, what), v, "ms",
                None if rpc else "pgbench: %s step (mean, -c 2)"
                % ("3 x one" if k.startswith("done") else "one"),
                None if rpc else base, None, higher_is_better=False)

    # 5. streaming
    for w in (1, 100, 1000):
        n = "watch_%d" % w
        if n not in R:
            continue
        row("5 streaming", "delivery p50, %d watcher%s" % (w, "s" if w > 1 else ""),
            g(n, "watch_p50_us") / 1000, "ms", "raw NOTIFY p50", g(n, "notify_p50_us") / 1000,
            None, higher_is_better=False)
        row("5 streaming", "delivery p99, %d watcher%s" % (w, "s" if w > 1 else ""),
            g(n, "watch_p99_us") / 1000, "ms", "raw NOTIFY p99", g(n, "notify_p99_us") / 1000,
            None, higher_is_better=False)
        if w >= 100:
            row("5 streaming", "memory per watcher, %d watchers" % w,
                g(n, "rss_per_watcher_bytes") / 1024, "KiB", None, None, None)

    # 6. footprint
    fp = R.get("footprint", {})
    if fp:
        row("6 footprint", "RSS idle", g("footprint", "rss_idle_kb") / 1024, "MiB",
            "orch-echo idle", g("footprint", "echo_rss_idle_kb") / 1024, None,
            higher_is_better=False)
        row("6 footprint", "RSS under load (max, commit run)", g("footprint", "rss_load_kb") / 1024,
            "MiB", "orch-echo under load", g("footprint", "echo_rss_load_kb") / 1024, None,
            higher_is_better=False)
        row("6 footprint", "start-up to its 'serving on' log line", g("footprint", "serving_line_ms"),
            "ms", "orch-echo start-up to SERVING", g("footprint", "echo_startup_ms"), None,
            higher_is_better=False, note="both polled every 5 ms from spawn, on a migrated database")
        row("6 footprint", "start-up to a SERVING health answer (orchctl)",
            g("footprint", "startup_ms"), "ms", None, None, None, higher_is_better=False,
            note="polled with orchctl health every 10 ms: includes starting orchctl")
        row("6 footprint", "binary size (orchestratord)", g("footprint", "binary_bytes") / 1048576,
            "MiB", "orch-echo binary", g("footprint", "echo_binary_bytes") / 1048576, None,
            higher_is_better=False, note="both dynamically linked against the same gRPC core")

    # 7. scaling
    base_sps = base_p99 = None
    for mult in (1, 2, 4, 8):
        n = "scale_%d" % mult
        if n not in R:
            continue
        sps, p99 = g(n, "steps_per_s"), g(n, "first_p99_ms")
        if mult == 1:
            base_sps, base_p99 = sps, p99
        row("7 scaling", "%dx: %d concurrent processes, steps/s" % (mult, g(n, "concurrency")),
            sps, "steps/s", "1x steps/s", base_sps, None)
        row("7 scaling", "%dx: %d concurrent processes, start -> first step p99"
            % (mult, g(n, "concurrency")), p99, "ms", "1x p99", base_p99, None,
            higher_is_better=False)

    result = {"benchmark": "bench/run.sh", "meta": meta, "rows": rows, "raw": R}
    with open(out_json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    def fmt(v):
        if v is None:
            return "-"
        if abs(v) >= 100:
            return "{:,.0f}".format(v)
        return "%.2f" % v

    print()
    print("orchestrator benchmark suite: %s" % meta.get("machine", "?"))
    print("%s, git %s, %s; load average before %s, after %s"
          % (meta.get("date", "?"), meta.get("git", "?"), meta.get("settings", "?"),
             meta.get("load_start", "?"), meta.get("load_end", "?")))
    print("On 2 cores shared by PostgreSQL, the server(s), the load generator and other work, "
          "replica counts are a contention check, not a scale-out measurement.")
    hdr = "%-16s %-62s %12s %-6s %12s  %-44s %7s  %s"
    print()
    print(hdr % ("section", "figure", "value", "unit", "baseline", "baseline is", "ratio", "goal"))
    print("-" * 178)
    for r in rows:
        goal = r["goal"] or ""
        if r["goal_met"] is not None:
            goal += ": " + ("met" if r["goal_met"] else "MISS")
        print(hdr % (r["section"], r["figure"][:62], fmt(r["value"]), r["unit"],
                     fmt(r["baseline"]), (r["baseline_name"] or "")[:44],
                     "-" if r["ratio"] is None else "%.2f" % r["ratio"], goal))
        if r["note"]:
            print("%-16s   (%s)" % ("", r["note"]))
    print()
    print("JSON: %s" % out_json)


def main(argv):
    if len(argv) == 5 and argv[1] == "step-script":
        step_script(*argv[2:])
    elif len(argv) == 4 and argv[1] == "report":
        report(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
