#!/usr/bin/python3
"""Checks the manifests `helm template` rendered from helm/orchestrator.

usage: check_manifests.py RENDERED.yaml CHART_DIR [VALUES.yaml ...]

The values files are merged over the chart's values.yaml (as Helm does) to know what to
expect (autoscaler, TLS, replica count...). Prints every violation and exits 1 if any.
"""
import os
import re
import sys

import yaml

failures = []


def fail(msg):
    if msg not in failures:
        failures.append(msg)


def merge(base, over):
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return over


def env_of(container):
    env = {}
    for e in container.get("env") or []:
        name = e.get("name")
        if name in env:
            fail(f"container {container.get('name')}: env {name} is set twice")
        env[name] = e
    return env


def env_value(env, name, default=None):
    e = env.get(name)
    if e is None:
        return default
    return e.get("value", default)


def port_of_listen(addr):
    m = re.search(r":(\d+)$", addr or "")
    return int(m.group(1)) if m else None


def argv_of(container):
    return [str(x) for x in (container.get("command") or [])] + [
        str(x) for x in (container.get("args") or [])]


def migrate_mode(argv):
    for i, a in enumerate(argv):
        if a.startswith("--migrate="):
            return a.split("=", 1)[1]
        if a == "--migrate" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def hook_annotations(doc):
    ann = (doc.get("metadata") or {}).get("annotations") or {}
    hooks = {h.strip() for h in str(ann.get("helm.sh/hook", "")).split(",") if h.strip()}
    weight = int(str(ann.get("helm.sh/hook-weight", "0")))
    return hooks, weight


def check_security(where, pod_spec, container):
    psc = pod_spec.get("securityContext") or {}
    csc = container.get("securityContext") or {}

    def eff(key):
        return csc[key] if key in csc else psc.get(key)

    if eff("runAsNonRoot") is not True:
        fail(f"{where}: runAsNonRoot must be true")
    if eff("runAsUser") == 0:
        fail(f"{where}: runAsUser is 0 (root)")
    if csc.get("readOnlyRootFilesystem") is not True:
        fail(f"{where}: securityContext.readOnlyRootFilesystem must be true")
    if csc.get("allowPrivilegeEscalation") is not False:
        fail(f"{where}: securityContext.allowPrivilegeEscalation must be false")
    if csc.get("privileged") is True:
        fail(f"{where}: securityContext.privileged must not be true")
    drop = ((csc.get("capabilities") or {}).get("drop")) or []
    if "ALL" not in drop:
        fail(f"{where}: securityContext.capabilities.drop must contain ALL (has {drop})")
    if ((csc.get("capabilities") or {}).get("add")):
        fail(f"{where}: securityContext.capabilities.add must be empty")


def check_db_url(where, container, secrets, values):
    env = env_of(container)
    e = env.get("ORCH_DATABASE_URL")
    if e is None:
        fail(f"{where}: no ORCH_DATABASE_URL env")
    else:
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if "value" in e or not ref:
            fail(f"{where}: ORCH_DATABASE_URL must come from valueFrom.secretKeyRef, not a literal")
        elif ref.get("name") in secrets:
            if ref.get("key") not in secrets[ref["name"]]:
                fail(f"{where}: Secret {ref['name']} has no key {ref.get('key')!r}")
        elif ref.get("name") != (values.get("database") or {}).get("existingSecret"):
            fail(f"{where}: ORCH_DATABASE_URL refers to Secret {ref.get('name')!r}, which is "
                 "neither rendered by the chart nor database.existingSecret")
    for a in argv_of(container):
        if a.startswith("--database-url"):
            fail(f"{where}: the database URL must not be a command-line argument ({a})")
    for name, ev in env.items():
        v = str(ev.get("value", ""))
        if re.search(r"postgres(ql)?://|dbname=|password=", v):
            fail(f"{where}: env {name} holds a literal connection string")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rendered, chart = sys.argv[1], sys.argv[2]
    with open(os.path.join(chart, "values.yaml")) as f:
        values = yaml.safe_load(f) or {}
    for vf in sys.argv[3:]:
        with open(vf) as f:
            values = merge(values, yaml.safe_load(f) or {})
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]

    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)

    secrets = {}
    for s in by_kind.get("Secret", []):
        secrets[s["metadata"]["name"]] = set((s.get("data") or {}).keys()) | set(
            (s.get("stringData") or {}).keys())

    # ---- Deployment -----------------------------------------------------------------------
    deps = by_kind.get("Deployment", [])
    if len(deps) != 1:
        fail(f"expected exactly one Deployment, found {len(deps)}")
        return report()
    dep = deps[0]
    dname = dep["metadata"]["name"]
    pod = dep["spec"]["template"]
    pod_spec = pod["spec"]
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    servers = [c for c in pod_spec.get("containers", [])
               if any(os.path.basename(a) == "orchestratord" for a in argv_of(c)[:1])]
    if len(servers) != 1:
        fail("Deployment: expected one container whose command is orchestratord, found "
             f"{len(servers)}")
        return report()
    c = servers[0]
    where = f"Deployment {dname} container {c['name']}"
    env = env_of(c)

    ports = {p.get("name"): int(p["containerPort"]) for p in c.get("ports") or []}
    grpc_port = ports.get("grpc")
    if grpc_port is None:
        fail(f"{where}: no container port named grpc")
    elif grpc_port != int(values.get("containerPort", 50051)):
        fail(f"{where}: grpc container port {grpc_port} != values containerPort")
    listen_port = port_of_listen(env_value(env, "ORCH_LISTEN"))
    if listen_port != grpc_port:
        fail(f"{where}: ORCH_LISTEN port {listen_port} != grpc container port {grpc_port}")

    tls_on = bool(env_value(env, "ORCH_TLS_CERT"))
    health_port = port_of_listen(env_value(env, "ORCH_HEALTH_LISTEN"))
    # The kubelet's gRPC probe is plaintext: it must hit the main port without TLS, or the
    # plaintext health-only port with TLS.
    want_probe_port = health_port if tls_on else grpc_port
    if tls_on and health_port is None:
        fail(f"{where}: TLS is on but there is no ORCH_HEALTH_LISTEN port for the "
             "(plaintext) kubelet probes")
    for kind, service in (("livenessProbe", "liveness"), ("readinessProbe", ""),
                          ("startupProbe", "liveness")):
        probe = c.get(kind)
        if probe is None:
            if kind != "startupProbe":
                fail(f"{where}: no {kind}")
            continue
        g = probe.get("grpc")
        if not g:
            fail(f"{where}: {kind} must be a native gRPC probe (grpc:), got {sorted(probe)}")
            continue
        port = g.get("port")
        if not isinstance(port, int):
            fail(f"{where}: {kind}.grpc.port must be a number, got {port!r}")
        elif port not in ports.values():
            fail(f"{where}: {kind}.grpc.port {port} is not a container port "
                 f"({sorted(ports.values())})")
        elif port != want_probe_port:
            fail(f"{where}: {kind}.grpc.port {port} != "
                 f"{'health-only port' if tls_on else 'grpc container port'} {want_probe_port}")
        got = g.get("service", "")
        if got != service:
            fail(f"{where}: {kind} asks health service {got!r}, must be {service!r}")

    check_db_url(where, c, secrets, values)
    check_security(where, pod_spec, c)

    if migrate_mode(argv_of(c)) != "check":
        fail(f"{where}: the server must run with --migrate=check (got {argv_of(c)})")

    fmt = env_value(env, "ORCH_LOG_FORMAT")
    if fmt != (values.get("server") or {}).get("logFormat", "json"):
        fail(f"{where}: ORCH_LOG_FORMAT is {fmt!r}, values say "
             f"{(values.get('server') or {}).get('logFormat')!r}")

    if not (c.get("resources") or {}).get("requests"):
        fail(f"{where}: no resources.requests")

    # Drain: preStop sleep, then SIGTERM and ORCH_GRACE seconds of drain.
    grace = int(env_value(env, "ORCH_GRACE", "10"))
    sleep = 0
    pre = ((c.get("lifecycle") or {}).get("preStop")) or {}
    if "sleep" in pre:
        sleep = int(pre["sleep"].get("seconds", 0))
    elif "exec" in pre:
        cmd = [str(x) for x in pre["exec"].get("command") or []]
        if cmd and os.path.basename(cmd[0]) == "sleep" and len(cmd) == 2:
            sleep = int(cmd[1])
        else:
            fail(f"{where}: preStop exec is not a plain sleep: {cmd}")
    else:
        fail(f"{where}: no preStop sleep (endpoints must go before the drain starts)")
    tgps = pod_spec.get("terminationGracePeriodSeconds")
    if tgps is None:
        fail(f"Deployment {dname}: terminationGracePeriodSeconds is not set")
    elif int(tgps) < grace + sleep:
        fail(f"Deployment {dname}: terminationGracePeriodSeconds {tgps} < ORCH_GRACE {grace} + "
             f"preStop sleep {sleep}: the kubelet would kill the drain")
    want_grace = int((values.get("server") or {}).get("graceSeconds", 10))
    if grace != want_grace:
        fail(f"{where}: ORCH_GRACE {grace} != server.graceSeconds {want_grace}")

    # Keepalive / max connection age for proxies.
    g = values.get("grpc") or {}
    for key, name in (("keepaliveTimeMs", "ORCH_KEEPALIVE_TIME_MS"),
                      ("maxConnectionAgeMs", "ORCH_MAX_CONNECTION_AGE_MS")):
        want = int(g.get(key) or 0)
        got = env_value(env, name)
        if want and str(want) != str(got):
            fail(f"{where}: {name} is {got!r}, grpc.{key} is {want}")

    # Replicas and the autoscaler.
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    hpa_on = bool((values.get("autoscaling") or {}).get("enabled"))
    if hpa_on and not hpas:
        fail("autoscaling.enabled but no HorizontalPodAutoscaler rendered")
    if not hpa_on and hpas:
        fail("a HorizontalPodAutoscaler rendered although autoscaling.enabled is false")
    if hpas:
        if "replicas" in dep["spec"]:
            fail(f"Deployment {dname}: replicas is set although an autoscaler owns the count")
        for h in hpas:
            ref = h["spec"].get("scaleTargetRef") or {}
            if ref.get("kind") != "Deployment" or ref.get("name") != dname:
                fail(f"HPA {h['metadata']['name']} targets {ref}, not Deployment {dname}")
    elif dep["spec"].get("replicas") != values.get("replicaCount"):
        fail(f"Deployment {dname}: replicas {dep['spec'].get('replicas')} != replicaCount "
             f"{values.get('replicaCount')}")

    # TLS from a Secret.
    tls = values.get("tls") or {}
    if tls.get("enabled"):
        if not tls_on or not env_value(env, "ORCH_TLS_KEY"):
            fail(f"{where}: tls.enabled but ORCH_TLS_CERT/ORCH_TLS_KEY are not set")
        vols = {v["name"]: v for v in pod_spec.get("volumes") or []}
        mounts = [m for m in c.get("volumeMounts") or []
                  if ((vols.get(m["name"]) or {}).get("secret") or {}).get("secretName")
                  == tls.get("secretName")]
        if not mounts:
            fail(f"{where}: tls.enabled but Secret {tls.get('secretName')!r} is not mounted")
        else:
            m = mounts[0]
            if not m.get("readOnly"):
                fail(f"{where}: the TLS Secret mount must be readOnly")
            files = {"ORCH_TLS_CERT": tls.get("certKey", "tls.crt"),
                     "ORCH_TLS_KEY": tls.get("keyKey", "tls.key")}
            if tls.get("clientCaKey"):
                files["ORCH_TLS_CLIENT_CA"] = tls["clientCaKey"]
            for name, key in files.items():
                want = m["mountPath"].rstrip("/") + "/" + key
                if env_value(env, name) != want:
                    fail(f"{where}: {name} is {env_value(env, name)!r}, want {want!r} "
                         "(the mounted Secret's file)")
    elif tls_on:
        fail(f"{where}: ORCH_TLS_CERT set although tls.enabled is false")

    # ---- Service --------------------------------------------------------------------------
    svcs = by_kind.get("Service", [])
    if not svcs:
        fail("no Service rendered")
    for s in svcs:
        sel = s["spec"].get("selector") or {}
        if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
            fail(f"Service {s['metadata']['name']}: selector {sel} does not select the pods")
        gp = [p for p in s["spec"].get("ports") or []
              if p.get("targetPort") in ("grpc", grpc_port)]
        if not gp:
            fail(f"Service {s['metadata']['name']}: no port targeting the grpc container port")
        for p in gp:
            if p.get("appProtocol") not in ("grpc", "kubernetes.io/h2c"):
                fail(f"Service {s['metadata']['name']}: port {p.get('name')} has appProtocol "
                     f"{p.get('appProtocol')!r}, want grpc (h2c)")

    # ---- PodDisruptionBudget --------------------------------------------------------------
    pdbs = by_kind.get("PodDisruptionBudget", [])
    if (values.get("podDisruptionBudget") or {}).get("enabled") and not pdbs:
        fail("podDisruptionBudget.enabled but no PodDisruptionBudget rendered")
    for p in pdbs:
        sel = (p["spec"].get("selector") or {}).get("matchLabels") or {}
        if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
            fail(f"PodDisruptionBudget {p['metadata']['name']}: selector does not match the pods")

    # ---- migration Job --------------------------------------------------------------------
    jobs = by_kind.get("Job", [])
    if not jobs:
        fail("no migration Job rendered")
    for j in jobs:
        jn = j["metadata"]["name"]
        hooks, weight = hook_annotations(j)
        if not {"pre-install", "pre-upgrade"} <= hooks:
            fail(f"Job {jn}: helm.sh/hook must contain pre-install and pre-upgrade (has "
                 f"{sorted(hooks) or 'none'})")
        jspec = j["spec"]["template"]["spec"]
        jl = (j["spec"]["template"].get("metadata") or {}).get("labels") or {}
        if dep["spec"]["selector"]["matchLabels"].items() <= jl.items():
            fail(f"Job {jn}: its pods match the Deployment's selector")
        for jc in jspec.get("containers", []):
            w = f"Job {jn} container {jc['name']}"
            argv = argv_of(jc)
            if not argv or os.path.basename(argv[0]) != "orchestratord":
                fail(f"{w}: must run orchestratord (runs {argv})")
            if migrate_mode(argv) != "only":
                fail(f"{w}: must run orchestratord --migrate=only (runs {argv})")
            check_db_url(w, jc, secrets, values)
            check_security(w, jspec, jc)
            ref = ((env_of(jc).get("ORCH_DATABASE_URL") or {}).get("valueFrom") or {}).get(
                "secretKeyRef") or {}
            # A Secret the chart creates must exist before the pre-install hook runs.
            for s in by_kind.get("Secret", []):
                if s["metadata"]["name"] == ref.get("name"):
                    shooks, sweight = hook_annotations(s)
                    if not {"pre-install", "pre-upgrade"} <= shooks or sweight >= weight:
                        fail(f"Secret {ref.get('name')}: the migration Job needs it before "
                             "the release's resources exist: it must be a pre-install,"
                             "pre-upgrade hook with a lower weight than the Job")

    return report()


def report():
    name = os.path.basename(sys.argv[1])
    if failures:
        print(f"check_manifests: {len(failures)} problem(s) in {name}:", file=sys.stderr)
        for f in failures:
            print(f"  FAIL: {f}", file=sys.stderr)
        return 1
    print(f"check_manifests: {name}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
