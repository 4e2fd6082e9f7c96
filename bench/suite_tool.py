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
  statement-count LOG OFFSET STEPS
      Counts the statements logged (log_statement=all) from byte OFFSET, but the bench's own
      polling, and prints "logged_statements=<n> per_step=<n / STEPS>".
  metrics-sample OUT URL [URL...]
      Until killed (SIGTERM), scrapes the servers' /metrics every 0.2 s and appends one line
      per scrape to OUT: "<realtime us> <counter>=<sum over series and servers> ...", for the
      counters of issue 17 (COUNTERS below). A counter a server does not export is left out
      of the line, never written as 0.
  metrics-window FILE T0_US T1_US
      The counters' increase over the window [T0_US, T1_US] (realtime us, as orch-loadgen
      prints them): the last scrape at or before T0 and the first at or after T1. Prints
      key=value words: steps, round_trips (or round_trips=missing), rt_per_step,
      gc_batches/gc_steps/gc_steps_per_batch (or gc=missing), claims, steps_per_claim.
  perf-summary PERF_DATA SERVER_PID OUTDIR
      Summarises a `perf record -e cpu-clock --call-graph dwarf` of the server and its
      PostgreSQL backends: the share of samples by process and DSO group (ours, gRPC,
      protobuf-c, jansson, libpq, libc, kernel, PostgreSQL backend, other), the server's top
      symbols (self) and, with call graphs, the top inclusive symbols. Writes
      OUTDIR/perf_summary.txt and prints one key=value line (shares in %).
  report RAW OUT_JSON
      Reads the RESULT records run.sh collected, prints the table and writes the JSON.
"""
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

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


def statement_count(log, offset, steps):
    n = sum(1 for _, sql, _ in statements(log, offset)
            if "WHERE last_status = 'completed'" not in sql)  # run.sh's poll for the end
    print("logged_statements=%d per_step=%.2f" % (n, n / float(steps)))


# ---- /metrics: round trips, steps, group commits ------------------------------------------

# Counter names fixed by issue 17 (the engine exports them on --metrics-listen); short names.
COUNTERS = {
    "orch_db_round_trips_total": "round_trips",
    "orch_steps_total": "steps",
    "orch_process_claims_total": "claims",
    "orch_group_commit_batches_total": "gc_batches",
    "orch_group_commit_steps_total": "gc_steps",
}
METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(url):
    """{short name: sum over its series} for the counters present at url."""
    with urllib.request.urlopen(url, timeout=2) as r:
        text = r.read().decode("utf-8", "replace")
    out = {}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if not m or m.group(1) not in COUNTERS:
            continue
        try:
            v = float(m.group(3))
        except ValueError:
            continue
        k = COUNTERS[m.group(1)]
        out[k] = out.get(k, 0.0) + v
    return out


def metrics_sample(out, *urls):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(out, "a") as f:
        while not stop:
            t = time.time()
            total, ok = {}, True
            for u in urls:
                try:
                    for k, v in scrape(u).items():
                        total[k] = total.get(k, 0.0) + v
                except Exception:  # a server stopping, or not up yet: skip this scrape
                    ok = False
            if ok:
                f.write("%d %s\n" % (int(t * 1e6), " ".join("%s=%.0f" % kv for kv in
                                                            sorted(total.items()))))
                f.flush()
            time.sleep(0.2)


def metrics_window(path, t0, t1):
    t0, t1 = int(t0), int(t1)
    samples = []
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        samples.append((int(parts[0]), dict((k, float(v)) for k, v in
                                            (p.split("=", 1) for p in parts[1:]))))
    before = [s for s in samples if s[0] <= t0]
    after = [s for s in samples if s[0] >= t1]
    if not before or not after:
        print("metrics=missing")
        return
    a, b = before[-1][1], after[0][1]

    def d(k):
        return b[k] - a[k] if k in a and k in b else None

    words = ["metrics_window_s=%.2f" % ((after[0][0] - before[-1][0]) / 1e6)]
    steps, rt, claims = d("steps"), d("round_trips"), d("claims")
    words.append("mx_steps=%s" % ("missing" if steps is None else "%.0f" % steps))
    if rt is None:
        words.append("round_trips=missing")
    else:
        words.append("round_trips=%.0f" % rt)
        if steps:
            words.append("rt_per_step=%.3f" % (rt / steps))
    gb, gs = d("gc_batches"), d("gc_steps")
    if gb is None or gs is None:
        words.append("gc=missing")
    else:
        words.append("gc_batches=%.0f gc_steps=%.0f" % (gb, gs))
        if gb:
            words.append("gc_steps_per_batch=%.2f" % (gs / gb))
    if claims is not None:
        words.append("claims=%.0f" % claims)
        if claims and steps:
            words.append("steps_per_claim=%.2f" % (steps / claims))
    print(" ".join(words))


# ---- perf profile -------------------------------------------------------------------------

def dso_group(comm, dso):
    d = os.path.basename(dso.strip("[]")) if not dso.startswith("[") else dso
    if dso.startswith("[kernel") or dso in ("[vdso]",):
        return "kernel"
    if comm.startswith("postgres") or d == "postgres":
        return "postgres"  # the backend's own code; its kernel time is under kernel
    if d.startswith("orchestratord"):
        return "ours"
    for prefix, g in (("libpq", "libpq"), ("libgrpc", "grpc"), ("libgpr", "grpc"),
                      ("libaddress_sorting", "grpc"), ("libupb", "grpc"), ("libabsl", "grpc"),
                      ("libprotobuf-c", "protobuf-c"), ("libjansson", "jansson"),
                      ("libc.so", "libc"), ("libc-", "libc"), ("ld-linux", "libc"),
                      ("libm.so", "libc"), ("libssl", "ssl"), ("libcrypto", "ssl"),
                      ("libz", "other")):
        if d.startswith(prefix):
            return g
    return "other"


def perf_report(data, *args):
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-header"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout


def perf_summary(data, server_pid, outdir):
    rows = []  # (percent, pid, comm, dso)
    text = perf_report(data, "--no-children", "-g", "none", "--sort", "pid,dso",
                       "--percent-limit", "0")
    for line in text.splitlines():
        m = re.match(r"^\s*([0-9.]+)%\s+(\d+):(\S+)\s+(.+?)\s*$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(4)))
    server_pid = str(server_pid)
    by_side = {"server": {}, "backends": {}}
    for pct, pid, comm, dso in rows:
        # perf's "pid" is the thread id: the server's threads have their own; the backends
        # are the processes named postgres.
        side = "backends" if comm.startswith("postgres") else "server"
        g = dso_group(comm, dso)
        by_side[side][g] = by_side[side].get(g, 0.0) + pct
    total_server = sum(by_side["server"].values())
    total_backends = sum(by_side["backends"].values())
    top = perf_report(data, "--no-children", "-g", "none", "--pid", server_pid,
                      "--percentage", "relative", "--sort", "dso,sym", "--percent-limit", "1")
    inclusive = perf_report(data, "--children", "-g", "none", "--pid", server_pid,
                            "--percentage", "relative", "--sort", "sym", "--percent-limit", "5")
    btop = perf_report(data, "--no-children", "-g", "none", "--comms", "postgres",
                       "--percentage", "relative", "--sort", "dso,sym", "--percent-limit", "2")
    lines = ["perf record -e cpu-clock --call-graph dwarf of orchestratord (pid %s) and its "
             "PostgreSQL backends" % server_pid,
             "",
             "share of all samples: orchestratord %.1f%%, its PostgreSQL backends %.1f%%"
             % (total_server, total_backends), ""]
    for side in ("server", "backends"):
        lines.append("%s, by DSO group (%% of all samples):" % side)
        for g, v in sorted(by_side[side].items(), key=lambda kv: -kv[1]):
            lines.append("  %-12s %6.1f%%" % (g, v))
        lines.append("")
    lines.append("orchestratord, top symbols (self, % of the server's samples, >= 1%):")
    lines += ["  " + l for l in top.splitlines() if re.match(r"^\s*[0-9.]+%", l)][:30]
    lines.append("")
    lines.append("orchestratord, inclusive (children, from the dwarf call graphs, % of the "
                 "server's samples, >= 5%):")
    lines += ["  " + l for l in inclusive.splitlines() if re.match(r"^\s*[0-9.]+%", l)][:30]
    lines.append("")
    lines.append("PostgreSQL backends, top symbols (self, % of the backends' samples, >= 2%):")
    lines += ["  " + l for l in btop.splitlines() if re.match(r"^\s*[0-9.]+%", l)][:25]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "perf_summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    words = ["server_pct=%.1f" % total_server, "backends_pct=%.1f" % total_backends]
    for side, short in (("server", "s"), ("backends", "b")):
        for g, v in by_side[side].items():
            words.append("%s_%s=%.1f" % (short, g.replace("-", "_"), v))
    print(" ".join(words))


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
        if isinstance(value, float) and baseline not in (None, 0):
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
    # The same pair with PostgreSQL on a CPU of its own (beside the goal's figure above).
    pgb_split = g("pgbench_getsub_split", "tps")
    for name, key in (("GetSubscription miss path req/s, split cores", "get_subscription_miss_split"),
                      ("h2load GetSubscription miss path req/s, split cores",
                       "h2_get_subscription_miss_split")):
        if g(key, "rps") is not None:
            row("1 transport", name, g(key, "rps"), "req/s", "pgbench tps, split cores", pgb_split,
                None, note="PostgreSQL on CPU 0; the server, the load and pgbench's client on the others")

    # 2. commit ceiling
    for r in (1, 2, 3):
        ours, base = g("commit_r%d" % r, "steps_per_s"), g("pgbench_commit_r%d" % r, "tps")
        if ours is None:
            continue
        row("2 commit", "steps/s, %d replica%s (%d workers, %d processes)"
            % (r, "s" if r > 1 else "", g("commit_r%d" % r, "workers"),
               g("commit_r%d" % r, "concurrency")), ours, "steps/s",
            None if base is None else "pgbench, the step's statements, -c %d"
            % g("pgbench_commit_r%d" % r, "clients"), base, 0.5, ">= 0.5x pgbench",
            note=None if base is not None else "no pgbench baseline: the capture did not "
            "recognise the statements of one step")

    prep = g("pgbench_commit_prepared", "tps")
    if prep is not None and g("commit_r1", "steps_per_s") is not None:
        row("2 commit", "steps/s, 1 replica, against the same statements prepared",
            g("commit_r1", "steps_per_s"), "steps/s", "pgbench -M prepared, -c %d"
            % g("pgbench_commit_prepared", "clients"), prep, None,
            note="no goal: what prepared statements alone would give the ceiling")

    def rt_value(name):
        """Round trips per committed step over the run's window, or the text saying why not."""
        m = R.get(name, {})
        if m.get("metrics") == "missing":
            return "n/a (no /metrics scrape in the window)"
        if m.get("round_trips") == "missing" or "round_trips" not in m:
            return "n/a (metric missing)"
        v = g(name, "rt_per_step")
        return v if v is not None else "n/a (no steps)"

    def gc_value(name):
        m = R.get(name, {})
        if m.get("gc") == "missing" or "gc_batches" not in m:
            return "n/a (metric missing)"
        v = g(name, "gc_steps_per_batch")
        return v if v is not None else "n/a (no group commit)"

    def rt_rows(section, name, what):
        if name not in R:
            return
        v = rt_value(name)
        cap = R.get("capture", {})
        base = g("capture", "statements") if cap.get("replay") == "yes" else None
        row(section, "round trips per committed step (/metrics), %s" % what, v, "rt/step",
            "statements of one step, captured" if base else None, base, None,
            higher_is_better=False,
            note="orch_db_round_trips_total / orch_steps_total over the measured window: "
                 "claims, heartbeats and sweeps included")
        rows[-1]["goal"] = "<= 1"
        rows[-1]["goal_met"] = (v <= 1.0) if isinstance(v, float) else None
        row(section, "steps per group commit (/metrics), %s" % what, gc_value(name),
            "steps/batch", None, None, None,
            note="orch_group_commit_steps_total / orch_group_commit_batches_total")
        spc = g(name, "steps_per_claim")
        if spc is not None:
            row(section, "steps per claim (/metrics), %s" % what, spc, "steps/claim", None,
                None, None)

    cap = R.get("capture", {})
    if "capture" in R:
        row("2 commit", "statements of one step (captured, log_statement=all)",
            g("capture", "statements") if cap.get("replay") == "yes"
            else "n/a (capture did not recognise them)", "stmts", None, None, None,
            note="the pgbench script bench/results/suite/commit.sql")
        row("2 commit", "statements per step over one bench_noop_10 process", g("capture", "per_step"),
            "stmts", None, None, None,
            note="every statement the server's sessions sent from StartProcess to the last "
                 "commit, timers included, / 10 steps")
    rt_rows("2 commit", "commit_r1", "1 replica")

    # 3. graphile-worker: the pinned comparison, in two durability settings
    for setting, label in (("off", "fsync=off, synchronous_commit=off"),
                           ("on", "fsync=on, synchronous_commit=on")):
        ours = g("peer_%s_ours" % setting, "steps_per_s")
        if ours is None:
            continue
        sec = "3 peer queue"
        for mode in ("defaults", "batched"):
            theirs = g("graphile_%s_%s" % (setting, mode), "jobs_per_s")
            row(sec, "fsync=%s: steps/s vs graphile-worker %s, conc. %d"
                % (setting, mode, g("peer_%s_ours" % setting, "workers") or 2), ours, "steps/s",
                "graphile-worker %s jobs/s" % mode, theirs, 1.0, ">= 1.0x",
                note="%s; 1 replica --workers 2, bench_noop_10, %d processes alive"
                % (label, g("peer_%s_ours" % setting, "concurrency") or 0)
                if mode == "defaults" else None)
        rt_rows(sec, "peer_%s_ours" % setting, label.split(",")[0])
        one = g("peer_%s_ours_one" % setting, "steps_per_s")
        if one is not None:
            row(sec, "fsync=%s: the same, one process per worker at a time" % setting, one,
                "steps/s", "graphile-worker defaults jobs/s",
                g("graphile_%s_defaults" % setting, "jobs_per_s"), None, None,
                note="--stretches-per-worker 1 (the default holds 8 per worker); shown, not a goal")

    # 4. start latency (production durability)
    step_ms = g("pgbench_commit_r1", "latency_ms")
    for load in ("light", "half"):
        n = "start_%s" % load
        if n not in R:
            continue
        what = "%s, %.1f/s, fsync=on" % (load, g(n, "rate"))
        nf, nd = g(n, "first_n") or 0, g(n, "done_n") or 0
        for k, label, cnt in (("first_p50_ms", "start -> first step p50", nf),
                              ("first_p99_ms", "start -> first step p99", nf),
                              ("done_p50_ms", "start -> completed p50", nd),
                              ("done_p99_ms", "start -> completed p99", nd),
                              ("rpc_p50_us", "StartProcess call p50", None),
                              ("rpc_p99_us", "StartProcess call p99", None)):
            v = g(n, k)
            if v is not None and k.endswith("_us"):
                v = v / 1000
            figure = "%s, %s%s" % (label, what, "" if cnt is None else ", n=%d" % cnt)
            if k == "first_p99_ms" and load == "light":
                row("4 start latency", figure, v, "ms", "goal (ms)", 5.0, 1.0, "<= 5 ms",
                    higher_is_better=False)
            elif k == "done_p99_ms":
                row("4 start latency", figure, v, "ms", "start -> completed p50",
                    g(n, "done_p50_ms"), 3.0, "<= 3x p50", higher_is_better=False)
            else:
                rpc = k.startswith("rpc")
                base = step_ms * (3 if k.startswith("done") else 1) if step_ms else None
                row("4 start latency", figure, v, "ms",
                    None if rpc or base is None else "pgbench: %s step (mean, -c 2, fsync off)"
                    % ("3 x one" if k.startswith("done") else "one"),
                    None if rpc else base, None, higher_is_better=False)
            if cnt is not None and cnt < 1000 and k.endswith("p99_ms"):
                rows[-1]["note"] = "%d samples: the goal needs >= 1,000 (--samples)" % cnt

    # 5. streaming
    # Goals (issue 19): p99 <= 50 ms at 1,000 watchers, <= 250 ms at 10,000; <= 8 KiB per
    # idle watcher, beside orch-echo's floor; <= 2 hub queries per event (one process).
    for n, label in [("watch_%d" % w, "%d WatchProcesses watcher%s" % (w, "s" if w > 1 else ""))
                     for w in (1, 100, 1000, 10000)] + [
                         ("watch_%d_split" % w, "%d watchers, driver on its own CPU" % w)
                         for w in (100, 1000, 10000)] + [
                         ("watch_process_1000", "1,000 WatchProcess watchers of one process"),
                         ("watch_mixed_1000", "mixed: 1,000 watchers of 100 processes + 10 filtered")]:
        if n not in R:
            continue
        row("5 streaming", "delivery p50, %s" % label,
            g(n, "watch_p50_us") / 1000, "ms", "raw NOTIFY p50", g(n, "notify_p50_us") / 1000,
            None, higher_is_better=False)
        row("5 streaming", "delivery p99, %s" % label,
            g(n, "watch_p99_us") / 1000, "ms", "raw NOTIFY p99", g(n, "notify_p99_us") / 1000,
            None, higher_is_better=False)
        if g(n, "cpu_ns_per_delivery") is not None:
            row("5 streaming", "server CPU per delivered event, %s" % label,
                g(n, "cpu_ns_per_delivery") / 1000, "us", None, None, None,
                higher_is_better=False)
        if g(n, "queries_per_event_x100") is not None and g(n, "queries_per_event_x100") >= 0:
            row("5 streaming", "hub queries per event, %s" % label,
                g(n, "queries_per_event_x100") / 100, "", None, None, None,
                higher_is_better=False)
        rss = g(n, "rss_per_watcher_bytes")
        if rss is not None and rss >= 0 and (g(n, "watchers") or 0) >= 100:
            e = "watch_echo_%d" % int(g(n, "watchers"))
            row("5 streaming", "memory per idle watcher, %s" % label,
                rss / 1024, "KiB", "orch-echo per idle stream",
                g(e, "rss_per_watcher_bytes") / 1024 if e in R else None, None,
                higher_is_better=False)

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

    # 8. long processes
    base10 = [g(n, "steps_per_s") for n in ("long_noop10_first", "long_noop10_second")]
    base10 = [v for v in base10 if v is not None]
    b10 = sum(base10) / len(base10) if base10 else None
    for n, label in (("long_noop100", "bench_noop_100 (state {}) steps/s"),
                     ("long_grow100", "bench_grow_100 (+1 KiB state a step) steps/s")):
        if n in R:
            row("8 long processes", label, g(n, "steps_per_s"), "steps/s",
                "bench_noop_10 steps/s (mean of before and after)", b10, 0.9, ">= 0.9x")
            rt_rows("8 long processes", n, n[5:])

    # 9. perf
    pf = R.get("perf", {})
    if pf.get("available") == "no":
        row("9 perf", "profile", "n/a (perf not available)", "", None, None, None)
    elif pf:
        row("9 perf", "orchestratord share of CPU samples (server + backends)",
            g("perf", "server_pct"), "%", None, None, None,
            note="summary: bench/results/suite/perf_summary.txt")
        row("9 perf", "its PostgreSQL backends' share", g("perf", "backends_pct"), "%", None,
            None, None)
        for k in sorted(pf):
            if k.startswith("s_") and isinstance(pf[k], float):
                row("9 perf", "orchestratord: %s" % k[2:], pf[k], "%", None, None, None)
        for k in sorted(pf):
            if k.startswith("b_") and isinstance(pf[k], float):
                row("9 perf", "backends: %s" % k[2:], pf[k], "%", None, None, None)

    result = {"benchmark": "bench/run.sh", "meta": meta, "rows": rows, "raw": R}
    with open(out_json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, str):
            return v
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
    elif len(argv) == 5 and argv[1] == "statement-count":
        statement_count(*argv[2:])
    elif len(argv) >= 4 and argv[1] == "metrics-sample":
        metrics_sample(*argv[2:])
    elif len(argv) == 5 and argv[1] == "metrics-window":
        metrics_window(*argv[2:])
    elif len(argv) == 5 and argv[1] == "perf-summary":
        perf_summary(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
