"""The chart lints, renders and validates for every example community, with the hardening
and network paths the architecture asks for."""

from __future__ import annotations

import json
import re
from typing import Any

import chartcheck
import pytest
from chartcheck import EXAMPLES, KUBE_VERSIONS, of_kind, pod_specs

from linli_points.config import PointsSettings

COMMUNITIES = [p.name for p in EXAMPLES]
SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance"}
REQUIRED_LABELS = SELECTOR_KEYS | {
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("community", COMMUNITIES)
def test_chart_lints_clean(examples, community, kube_version):
    values = examples[community]
    errors = chartcheck.lint_errors(
        values, namespace=values["community"]["namespace"], kube_version=kube_version
    )
    assert errors == []


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("community", COMMUNITIES)
def test_manifests_validate_strictly(rendered, community, kube_version):
    docs = rendered[community]
    assert docs, "nothing rendered"
    assert chartcheck.validation_errors(docs, kube_version) == []


@pytest.mark.parametrize("community", COMMUNITIES)
def test_workloads_run_as_non_root_with_limits(rendered, community):
    workloads = pod_specs(rendered[community])
    assert workloads
    for ident, spec in workloads:
        pod_sc = spec.get("securityContext", {})
        assert pod_sc.get("runAsNonRoot") is True, ident
        assert pod_sc.get("runAsUser", 0) != 0, ident
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", ident
        assert spec.get("automountServiceAccountToken") is False, ident
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            assert sc.get("readOnlyRootFilesystem") is True, (ident, c["name"])
            assert sc.get("allowPrivilegeEscalation") is False, (ident, c["name"])
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], (ident, c["name"])
            assert "add" not in sc.get("capabilities", {}), (ident, c["name"])
            limits = c.get("resources", {}).get("limits", {})
            requests = c.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= limits.keys(), (ident, c["name"], "limits")
            assert {"cpu", "memory"} <= requests.keys(), (ident, c["name"], "requests")


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("community", COMMUNITIES)
def test_grpc_services_serve_mutual_tls_from_their_secret_and_probe_a_plaintext_health_port(
    rendered, community
):
    deployments = of_kind(rendered[community], "Deployment")
    assert {d["metadata"]["labels"]["app.kubernetes.io/name"] for d in deployments} >= {
        "identity",
        "attendance",
        "points",
        "rewards",
        "training",
        "partners",
    }
    for d in deployments:
        svc = d["metadata"]["labels"]["app.kubernetes.io/name"]
        if svc == "gateway":
            continue  # HTTP: test_gateway_is_reached_through_the_ingress_only
        pod = d["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = _env(container)
        prefix = f"LINLI_{svc.upper()}_"
        port, health = (int(env[prefix + k]["value"]) for k in ("GRPC_PORT", "HEALTH_PORT"))
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["grpc"] == port and ports["health"] == health != port
        assert ports["metrics"] == int(env[prefix + "METRICS_PORT"]["value"])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == health, (svc, probe)
        assert env[prefix + "REFLECTION"]["value"] == "false"  # off unless a community asks
        tls_dir = env[prefix + "TLS_DIR"]["value"]
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == tls_dir]
        assert mount["readOnly"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        community_id = d["metadata"]["namespace"].removeprefix("linli-")
        assert volume["secret"]["secretName"] == f"linli-{community_id}-{svc}-tls"


@pytest.mark.parametrize("community", COMMUNITIES)
def test_labels_and_selectors(rendered, community):
    docs = rendered[community]
    selectors = []
    for d in docs:
        assert d["metadata"]["labels"].keys() >= REQUIRED_LABELS, d["metadata"]["name"]
        if d["kind"] in {"Deployment", "StatefulSet"}:
            sel = d["spec"]["selector"]["matchLabels"]
            assert set(sel) == SELECTOR_KEYS, d["metadata"]["name"]
            assert sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            selectors.append(tuple(sorted(sel.items())))
        if d["kind"] == "Service":
            assert set(d["spec"]["selector"]) == SELECTOR_KEYS, d["metadata"]["name"]
    assert len(selectors) == len(set(selectors)), "two workloads share a selector"
    # Services must not select migration Job pods.
    job_labels = [j["spec"]["template"]["metadata"]["labels"] for j in of_kind(docs, "Job")]
    for s in of_kind(docs, "Service"):
        for labels in job_labels:
            assert not s["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("community", COMMUNITIES)
def test_every_service_has_sa_pdb_and_scaling(rendered, community):
    docs = rendered[community]
    for d in of_kind(docs, "Deployment"):
        name = d["metadata"]["name"]
        spec = d["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] in {
            s["metadata"]["name"] for s in of_kind(docs, "ServiceAccount")
        }
        assert name in {p["metadata"]["name"] for p in of_kind(docs, "PodDisruptionBudget")}
        hpas = {
            h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")
        }
        # With an HPA the Deployment leaves replicas to it; without one it sets them.
        assert (name in hpas) != ("replicas" in d["spec"]), name


def _policy_for(docs, component):
    (policy,) = [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        == component
    ]
    return policy


def _peers_by_name(rules, side):
    """app.kubernetes.io/name of every same-namespace pod peer in the rules, with ports."""
    found = {}
    for rule in rules:
        for peer in rule[side]:
            if "namespaceSelector" in peer or "ipBlock" in peer:
                continue
            name = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            found[name] = {p["port"] for p in rule["ports"]}
    return found


@pytest.mark.parametrize("community", COMMUNITIES)
def test_network_policies_deny_by_default_and_open_only_allowed_paths(rendered, community):
    docs = rendered[community]
    policies = of_kind(docs, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress")

    for p in policies:
        for rule in p["spec"].get("ingress", []):
            assert rule.get("from"), f"{p['metadata']['name']}: ingress rule open to all sources"
            assert rule.get("ports"), f"{p['metadata']['name']}: ingress rule open on all ports"
        for rule in p["spec"].get("egress", []):
            assert rule.get("to"), f"{p['metadata']['name']}: egress rule open to all targets"
            assert rule.get("ports"), f"{p['metadata']['name']}: egress rule open on all ports"
            for peer in rule["to"]:
                assert peer.get("ipBlock", {}).get("cidr") not in {"0.0.0.0/0", "::/0"}

    # Every pod is governed by a policy beyond the default deny.
    for ident, _spec in pod_specs(docs):
        workload = next(d for d in docs if f"{d['kind']}/{d['metadata']['name']}" == ident)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(_selects(p["spec"]["podSelector"], labels) for p in policies if p not in deny), (
            ident
        )

    # attendance → identity (residents, faces), points, rewards, training and partners →
    # identity (signing keys), rewards → points (reservations), training → attendance (course
    # sessions' activities), partners → points (residents' standings), rewards → partners (a
    # partner's scopes), and the gateway → every service (with the person's token); nothing
    # else in the release reaches a gRPC port.
    identity, attendance = _policy_for(docs, "identity"), _policy_for(docs, "attendance")
    points, rewards = _policy_for(docs, "points"), _policy_for(docs, "rewards")
    training, partners = _policy_for(docs, "training"), _policy_for(docs, "partners")
    datastores = {"postgresql", "redis"}

    def services_in(rules, side):
        return {k: v for k, v in _peers_by_name(rules, side).items() if k not in datastores}

    assert services_in(identity["spec"]["ingress"], "from") == {
        "attendance": {50051},
        "points": {50051},
        "rewards": {50051},
        "training": {50051},
        "partners": {50051},
        "gateway": {50051},
    }
    assert services_in(attendance["spec"]["egress"], "to") == {"identity": {50051}}
    assert services_in(attendance["spec"]["ingress"], "from") == {
        "training": {50051},
        "gateway": {50051},
    }
    assert services_in(points["spec"]["ingress"], "from") == {
        "rewards": {50051},
        "partners": {50051},
        "gateway": {50051},
    }
    assert services_in(rewards["spec"]["egress"], "to") == {
        "identity": {50051},
        "points": {50051},
        "partners": {50051},
    }
    assert services_in(rewards["spec"]["ingress"], "from") == {"gateway": {50051}}
    assert services_in(training["spec"]["egress"], "to") == {
        "identity": {50051},
        "attendance": {50051},
    }
    assert services_in(training["spec"]["ingress"], "from") == {"gateway": {50051}}
    assert services_in(partners["spec"]["egress"], "to") == {
        "identity": {50051},
        "points": {50051},
    }
    assert services_in(partners["spec"]["ingress"], "from") == {
        "rewards": {50051},
        "gateway": {50051},
    }

    # In-cluster datastores take connections from this release's pods only.
    for store in datastores & {p["metadata"]["labels"]["app.kubernetes.io/name"] for p in policies}:
        (rule,) = _policy_for(docs, store)["spec"]["ingress"]
        (peer,) = rule["from"]
        assert "namespaceSelector" not in peer
        exprs = {e["key"]: e["values"] for e in peer["podSelector"]["matchExpressions"]}
        assert exprs["app.kubernetes.io/instance"] == [docs[0]["metadata"]["namespace"]]


def _selects(selector, labels):
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In"
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


@pytest.mark.parametrize("community", COMMUNITIES)
def test_time_bank_is_peer_only_on_its_own_port(rendered, examples, community):
    docs, values = rendered[community], examples[community]
    peers = values["points"]["timeBank"]["peers"]
    assert peers, "every example community trades with at least one peer"
    points = _policy_for(docs, "points")
    tb_port = values["points"]["timeBank"].get("port", 50052)
    external = [
        r
        for r in points["spec"]["ingress"]
        if any("namespaceSelector" in f or "ipBlock" in f for f in r["from"])
    ]
    by_port = {p["port"] for r in external for p in r["ports"]}
    # Outside sources reach points only on the time-bank listener (and Prometheus on metrics).
    assert by_port <= {tb_port, 9464}
    assert tb_port in by_port
    # mTLS material comes from the named Secret, mounted read-only.
    (dep,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-points")]
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert (
        volumes["time-bank-tls"]["secret"]["secretName"]
        == values["points"]["timeBank"]["tlsSecret"]
    )
    env = _env(dep["spec"]["template"]["spec"]["containers"][0])
    sent = json.loads(env["LINLI_POINTS_TIMEBANK"]["value"])
    assert [p["id"] for p in sent["peers"]] == [p["communityId"] for p in peers]
    assert [p["credit_limit"] for p in sent["peers"]] == [p["creditLimit"] for p in peers]


@pytest.mark.parametrize("community", COMMUNITIES)
def test_points_receives_the_communitys_earning_rules(rendered, examples, community):
    (dep,) = [
        d
        for d in of_kind(rendered[community], "Deployment")
        if d["metadata"]["name"].endswith("-points")
    ]
    env = _env(dep["spec"]["template"]["spec"]["containers"][0])
    rules = json.loads(env["LINLI_POINTS_EARNING_RULES"]["value"])
    expected = examples[community]["points"]["earningRules"]
    assert [(r["id"], r.get("points_per_hour", 0)) for r in rules] == [
        (r["id"], r.get("pointsPerHour", 0)) for r in expected
    ]
    figures = [v for r in rules for k, v in r.items() if k not in ("id", "activity_kind")]
    assert all(isinstance(v, int | str) for v in figures), "hundredths, never floats"
    # The points service itself must accept what the chart hands it, or it would not start.
    catalog = PointsSettings(
        database_url="sqlite://", redis_url="redis://", earning_rules=rules
    ).catalog
    assert {r.id for r in catalog.default.rules} == {r["id"] for r in expected}


@pytest.mark.parametrize("community", COMMUNITIES)
def test_migrations_run_as_hooks_before_upgrade(rendered, examples, community):
    docs, values = rendered[community], examples[community]
    jobs = of_kind(docs, "Job")
    migrated = {
        j["metadata"]["labels"]["app.kubernetes.io/name"].removesuffix("-migrate") for j in jobs
    }
    assert migrated == {"identity", "attendance", "points", "rewards", "training", "partners"} & {
        d["metadata"]["labels"]["app.kubernetes.io/name"] for d in of_kind(docs, "Deployment")
    }
    for j in jobs:
        hooks = set(j["metadata"]["annotations"]["helm.sh/hook"].split(","))
        assert "pre-upgrade" in hooks
        # With managed PostgreSQL the schema is there before the first pod starts.
        if values["postgresql"]["mode"] == "external":
            assert "pre-install" in hooks
        (c,) = j["spec"]["template"]["spec"]["containers"]
        assert c["args"] == ["migrate"]


@pytest.mark.parametrize("community", COMMUNITIES)
def test_secrets_are_referenced_by_name_never_inlined(rendered, community):
    docs = rendered[community]
    assert of_kind(docs, "Secret") == []
    for ident, spec in pod_specs(docs):
        for c in spec["containers"]:
            for e in c.get("env", []):
                if re.search(r"(DATABASE_URL|REDIS_URL|KEYS|PASSWORD|TOKEN)$", e["name"]):
                    assert "secretKeyRef" in e.get("valueFrom", {}), (ident, e["name"])
                # No credentials in a plain value (scheme://user:pw@host).
                assert not re.search(r"://[^/@\s]+:[^/@\s]+@", e.get("value", "")), (
                    ident,
                    e["name"],
                )


def test_identity_model_pack_is_mounted_from_a_volume(rendered):
    # Donghu runs the insightface engine from the district's licensed pack.
    (dep,) = [
        d
        for d in of_kind(rendered["community-donghu.yaml"], "Deployment")
        if d["metadata"]["name"].endswith("-identity")
    ]
    spec = dep["spec"]["template"]["spec"]
    env = _env(spec["containers"][0])
    assert env["LINLI_IDENTITY_FACE_ENGINE"]["value"] == "insightface"
    mount = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}["face-models"]
    assert mount["readOnly"] is True
    assert mount["mountPath"] == env["LINLI_IDENTITY_FACE_MODEL_DIR"]["value"]
    volume = {v["name"]: v for v in spec["volumes"]}["face-models"]
    assert volume["persistentVolumeClaim"]["claimName"] == "linli-donghu-face-models"


@pytest.mark.parametrize("community", COMMUNITIES)
def test_identity_replicas_sync_by_pod_name_and_never_use_demo_keys(rendered, community):
    (dep,) = [
        d
        for d in of_kind(rendered[community], "Deployment")
        if d["metadata"]["name"].endswith("-identity")
    ]
    env = _env(dep["spec"]["template"]["spec"]["containers"][0])
    assert env["LINLI_IDENTITY_REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "secretKeyRef" in env["LINLI_IDENTITY_TEMPLATE_KEYS"]["valueFrom"]
    assert "LINLI_IDENTITY_DEV_TEMPLATE_KEYS" not in env
    signing = env["LINLI_IDENTITY_SIGNING_KEYS"]["valueFrom"]["secretKeyRef"]
    assert signing["name"].endswith("-token-signing-keys") and signing["key"] == "signing-keys"
    assert "LINLI_IDENTITY_DEV_SIGNING_KEYS" not in env
    federation = env["LINLI_IDENTITY_FEDERATION_SECRET"]["valueFrom"]["secretKeyRef"]
    assert federation["name"].endswith("-federation-secret")
    assert federation["key"] == "federation-secret"
    assert "LINLI_IDENTITY_DEV_FEDERATION_SECRET" not in env


@pytest.mark.parametrize("community", COMMUNITIES)
def test_rewards_signs_with_its_secret_keyring_and_calls_points_and_identity(rendered, community):
    docs = rendered[community]
    (dep,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-rewards")]
    env = _env(dep["spec"]["template"]["spec"]["containers"][0])
    voucher = env["LINLI_REWARDS_VOUCHER_KEYS"]["valueFrom"]["secretKeyRef"]
    assert voucher["name"].endswith("-voucher-signing-keys") and voucher["key"] == "voucher-keys"
    assert "LINLI_REWARDS_DEV_VOUCHER_KEYS" not in env
    # The addresses are the in-release Services of points and identity, on their gRPC ports.
    services = {
        s["metadata"]["labels"]["app.kubernetes.io/name"]: s for s in of_kind(docs, "Service")
    }
    for dep_name in ("points", "identity"):
        service = services[dep_name]
        (grpc_port,) = [p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc"]
        address = env[f"LINLI_REWARDS_{dep_name.upper()}_ADDRESS"]["value"]
        assert address == f"{service['metadata']['name']}:{grpc_port}"
    assert float(env["LINLI_REWARDS_RECOVERY_SWEEP_SECONDS"]["value"]) == 30
    assert float(env["LINLI_REWARDS_STALL_SECONDS"]["value"]) == 60


def test_rewards_settings_come_from_values(examples):
    values = chartcheck.deep_merge(
        examples["community-xinhua.yaml"],
        {"rewards": {"recoverySweepSeconds": 5, "stallSeconds": 120.5}},
    )
    name, namespace = chartcheck.release_of(values)
    docs = chartcheck.render(values, name=name, namespace=namespace)
    (dep,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-rewards")]
    env = _env(dep["spec"]["template"]["spec"]["containers"][0])
    assert env["LINLI_REWARDS_RECOVERY_SWEEP_SECONDS"]["value"] == "5"
    assert env["LINLI_REWARDS_STALL_SECONDS"]["value"] == "120.5"


def _deployment(docs, service):
    (dep,) = [
        d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith(f"-{service}")
    ]
    return dep


@pytest.mark.parametrize("community", COMMUNITIES)
def test_partners_signs_with_its_secret_keyring_and_calls_points_and_identity(rendered, community):
    docs = rendered[community]
    env = _env(_deployment(docs, "partners")["spec"]["template"]["spec"]["containers"][0])
    proof = env["LINLI_PARTNERS_PROOF_KEYS"]["valueFrom"]["secretKeyRef"]
    assert proof["name"].endswith("-proof-signing-keys") and proof["key"] == "proof-keys"
    assert "LINLI_PARTNERS_DEV_PROOF_KEYS" not in env
    # The addresses are the in-release Services of points and identity, on their gRPC ports;
    # partners calls nothing else.
    services = {
        s["metadata"]["labels"]["app.kubernetes.io/name"]: s for s in of_kind(docs, "Service")
    }
    addresses = {k for k in env if k.endswith("_ADDRESS")}
    assert addresses == {"LINLI_PARTNERS_POINTS_ADDRESS", "LINLI_PARTNERS_IDENTITY_ADDRESS"}
    for dep_name in ("points", "identity"):
        service = services[dep_name]
        (grpc_port,) = [p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc"]
        address = env[f"LINLI_PARTNERS_{dep_name.upper()}_ADDRESS"]["value"]
        assert address == f"{service['metadata']['name']}:{grpc_port}"
    # The policy's threshold (no community's own) and the settings' poll time.
    assert json.loads(env["LINLI_PARTNERS_TITLE_THRESHOLDS"]["value"]) == {}
    assert float(env["LINLI_PARTNERS_BOARD_POLL_SECONDS"]["value"]) == 0.25
    # Rewards asks partners for a partner's scopes on every call the partner makes there.
    rewards = _env(_deployment(docs, "rewards")["spec"]["template"]["spec"]["containers"][0])
    (port,) = [p["port"] for p in services["partners"]["spec"]["ports"] if p["name"] == "grpc"]
    assert rewards["LINLI_REWARDS_PARTNERS_ADDRESS"]["value"] == (
        f"{services['partners']['metadata']['name']}:{port}"
    )


@pytest.mark.parametrize("community", COMMUNITIES)
def test_partner_machines_reach_only_partners_grpc_port_from_outside(rendered, examples, community):
    docs, values = rendered[community], examples[community]
    given = values.get("services", {}).get("partners", {}).get("externalIngress", [])
    # The gateway's way in (the same controller may serve both) is tested on its own.
    outside = [
        rule
        for policy in of_kind(docs, "NetworkPolicy")
        if policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        != "gateway"
        for rule in policy["spec"].get("ingress", [])
        if any(peer in given for peer in rule["from"])
    ]
    if not given:
        assert outside == []
        return
    (rule,) = outside
    assert rule["from"] == given
    assert rule["ports"] == [{"protocol": "TCP", "port": 50051}]  # not metrics, not health
    (policy,) = [p for p in of_kind(docs, "NetworkPolicy") if rule in p["spec"].get("ingress", [])]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "partners"


def test_partners_settings_come_from_values(examples):
    values = chartcheck.deep_merge(
        examples["community-xinhua.yaml"],
        {
            "partners": {
                "titleThresholds": {"xinhua": 8_000_000, "*": 5_000_000},
                "boardPollSeconds": 2,
                "proofKeys": {"key": "ring"},
            }
        },
    )
    name, namespace = chartcheck.release_of(values)
    docs = chartcheck.render(values, name=name, namespace=namespace)
    env = _env(_deployment(docs, "partners")["spec"]["template"]["spec"]["containers"][0])
    # Whole fen as JSON integers (never 8e+06), in the shape the settings parse.
    assert env["LINLI_PARTNERS_TITLE_THRESHOLDS"]["value"] == '{"*":5000000,"xinhua":8000000}'
    assert env["LINLI_PARTNERS_BOARD_POLL_SECONDS"]["value"] == "2"
    assert env["LINLI_PARTNERS_PROOF_KEYS"]["valueFrom"]["secretKeyRef"]["key"] == "ring"


@pytest.mark.parametrize("community", COMMUNITIES)
def test_dashboards_are_valid_json_per_community(rendered, examples, community):
    docs = rendered[community]
    maps = [
        c
        for c in of_kind(docs, "ConfigMap")
        if c["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert len(maps) >= 2
    for cm in maps:
        for key, text in cm["data"].items():
            dash = json.loads(text)
            assert key.endswith(".json")
            assert (
                dash["uid"].endswith(examples[community]["community"]["id"])
                and len(dash["uid"]) <= 40
            )
            ns_var = {v["name"]: v for v in dash["templating"]["list"]}["namespace"]
            assert ns_var["query"] == examples[community]["community"]["namespace"]
            targets = [t for p in dash["panels"] if p["type"] != "row" for t in p["targets"]]
            assert targets and all(t["expr"].strip() for t in targets)


@pytest.mark.parametrize("community", COMMUNITIES)
def test_monitoring_resources_are_well_formed(rendered, community):
    docs = rendered[community]
    (rule,) = of_kind(docs, "PrometheusRule")
    runbook = (chartcheck.REPO / "deploy" / "RUNBOOK.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbook, re.M)
    }
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    names = {a["alert"] for a in alerts}
    assert {
        "LinliStreamLagHigh",
        "LinliDeadLetters",
        "LinliLedgerVerificationFailed",
        "LinliRpcErrorRateHigh",
        "LinliRpcLatencyHigh",
        "LinliRewardsStockOut",
        "LinliFaceCloseCallsHigh",
        "LinliRewardsSagasStuck",
        "LinliPartnerChecksRefused",
        "LinliPartnerRateLimited",
        "LinliGatewayErrorRateHigh",
        "LinliGatewayLatencyHigh",
    } <= names
    namespace = docs[0]["metadata"]["namespace"]
    for a in alerts:
        assert a["labels"]["severity"] in {"warning", "critical"}, a["alert"]
        assert "${" not in a["expr"], f"{a['alert']}: placeholder left in expr"
        assert f'namespace="{namespace}"' in a["expr"], (
            f"{a['alert']} is not scoped to its community"
        )
        anchor = a["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor in anchors, f"{a['alert']}: no section '{anchor}' in deploy/RUNBOOK.md"
    (monitor,) = of_kind(docs, "ServiceMonitor")
    services = [
        s
        for s in of_kind(docs, "Service")
        if s["metadata"]["labels"]["app.kubernetes.io/component"] == "service"
    ]
    scraped = {s["metadata"]["labels"]["app.kubernetes.io/name"] for s in services}
    assert {"gateway", "identity", "points"} <= scraped, scraped
    for s in services:
        assert monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        assert "metrics" in {p["name"] for p in s["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"metrics"}


@pytest.mark.parametrize("community", COMMUNITIES)
def test_gateway_is_reached_through_the_ingress_only(rendered, examples, community):
    """Ingress with TLS → the gateway's HTTP port, probed on /healthz; out only to the services."""
    docs, values = rendered[community], examples[community]
    community_id = values["community"]["id"]
    (ingress,) = of_kind(docs, "Ingress")
    host = values["gateway"]["ingress"]["host"]
    assert ingress["spec"]["tls"] == [
        {"hosts": [host], "secretName": values["gateway"]["ingress"]["tlsSecret"]}
    ]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == host
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    (service,) = [s for s in of_kind(docs, "Service") if s["metadata"]["name"] == backend["name"]]
    assert service["spec"]["selector"]["app.kubernetes.io/name"] == "gateway"
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
        "http": 8080,
        "metrics": 9464,
    }

    (deployment,) = [
        d
        for d in of_kind(docs, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/name"] == "gateway"
    ]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = _env(container)
    assert env["LINLI_GATEWAY_COMMUNITY"]["value"] == community_id
    assert env["LINLI_GATEWAY_SESSION_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": values["gateway"]["sessionSecret"]["existingSecret"],
        "key": "session-secret",
    }
    assert not any(n.endswith(("DATABASE_URL", "REDIS_URL")) for n in env), "no data stores"
    for name in ("identity", "attendance", "points", "rewards", "training", "partners"):
        address = env[f"LINLI_GATEWAY_{name.upper()}_ADDRESS"]["value"]
        assert address == f"linli-{community_id}-{name}:50051"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "metrics": 9464}
    assert env["LINLI_GATEWAY_METRICS_PORT"]["value"] == "9464"
    # Behind the ingress controller (the only one admitted), logins count per browser address.
    assert env["LINLI_GATEWAY_TRUST_FORWARDED_FOR"]["value"] == "true"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/linli/tls"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == f"linli-{community_id}-gateway-tls"

    policy = _policy_for(docs, "gateway")
    way_in, scrape = policy["spec"]["ingress"]
    assert way_in["from"] == values["services"]["gateway"]["externalIngress"]
    assert way_in["ports"] == [{"protocol": "TCP", "port": 8080}]
    (prometheus,) = scrape["from"]
    namespace = prometheus["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
    assert namespace == values.get("monitoring", {}).get("prometheus", {}).get(
        "namespace", "monitoring"
    )
    assert scrape["ports"] == [{"protocol": "TCP", "port": 9464}], "Prometheus: metrics only"
    assert _peers_by_name(policy["spec"]["egress"], "to") == {
        name: {50051}
        for name in ("identity", "attendance", "points", "rewards", "training", "partners")
    }
    others = [r for r in policy["spec"]["egress"] if "namespaceSelector" in r["to"][0]]
    assert [{p["port"] for p in r["ports"]} for r in others] == [{53}], "DNS and nothing else"


def test_gateway_counters_are_mounted_one_folder_per_partner(rendered, examples):
    (deployment,) = [
        d
        for d in of_kind(rendered["community-xinhua.yaml"], "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/name"] == "gateway"
    ]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert _env(container)["LINLI_GATEWAY_COUNTERS_DIR"]["value"] == "/etc/linli/counters"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "counters"]
    (source,) = volume["projected"]["sources"]
    assert source["secret"]["name"] == "linli-xinhua-counter-p-market"
    assert {i["path"] for i in source["secret"]["items"]} == {
        f"p-market/{f}" for f in ("tls.crt", "tls.key", "ca.crt", "counter-key.sha256")
    }
