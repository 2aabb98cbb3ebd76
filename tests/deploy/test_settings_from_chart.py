"""Every process the chart starts accepts the environment the chart gives it.

`linli-<svc> serve` and `linli-<svc> migrate` both load the service's whole settings before
anything else and stop on a missing or bad one. So each Deployment's and each migration
Job's environment, with stand-ins for what its Secrets hold, must build its service's
settings, or the pod would exit at start.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from chartcheck import EXAMPLES, deep_merge, of_kind, release_of, render
from pydantic import ValidationError

from linli_attendance.config import AttendanceSettings
from linli_gateway.config import GatewaySettings
from linli_identity.config import IdentitySettings
from linli_partners.config import PartnersSettings
from linli_points.config import PointsSettings
from linli_rewards.config import RewardsSettings
from linli_training.config import TrainingSettings

COMMUNITIES = [p.name for p in EXAMPLES]
SETTINGS = {
    "identity": IdentitySettings,
    "attendance": AttendanceSettings,
    "points": PointsSettings,
    "rewards": RewardsSettings,
    "training": TrainingSettings,
    "partners": PartnersSettings,
    "gateway": GatewaySettings,
}
SEED = base64.b64encode(bytes(range(32))).decode()
KEYRING = json.dumps({"current": "k1", "keys": {"k1": SEED}})


def _secret(key: str, community_id: str) -> str:
    """A stand-in for what the Secret key named holds, in the shape the settings parse."""
    if key.endswith("-database-url"):
        return "sqlite://"
    stand_ins = {
        "redis-url": "redis://redis.invalid:6379/0",
        "template-keys": json.dumps({community_id: json.loads(KEYRING)}),
        "signing-keys": KEYRING,
        "voucher-keys": KEYRING,
        "proof-keys": KEYRING,
        "session-secret": SEED,
        "federation-secret": SEED,
    }
    assert key in stand_ins, f"no stand-in for Secret key {key!r}: add one"
    return stand_ins[key]


def _environment(container: dict[str, Any], community_id: str) -> dict[str, str]:
    """The container's environment as the kubelet would set it."""
    env = {}
    for var in container.get("env", []):
        source = var.get("valueFrom", {})
        if "secretKeyRef" in source:
            env[var["name"]] = _secret(source["secretKeyRef"]["key"], community_id)
        elif "fieldRef" in source:
            env[var["name"]] = "pod-0"
        else:
            env[var["name"]] = var["value"]
    return env


def _processes(docs: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind/name, service, container) of every Deployment and migration Job."""
    found = []
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        service = doc["metadata"]["labels"]["app.kubernetes.io/name"].removesuffix("-migrate")
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        found.append((f"{doc['kind']}/{doc['metadata']['name']}", service, container))
    return found


def _load(monkeypatch: pytest.MonkeyPatch, service: str, env: dict[str, str]) -> Any:
    """The service's settings from exactly this environment."""
    with monkeypatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("LINLI_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return SETTINGS[service]()


@pytest.mark.parametrize("community", COMMUNITIES)
def test_every_deployment_and_migration_job_loads_its_settings(
    rendered, examples, community, monkeypatch
):
    community_id = examples[community]["community"]["id"]
    processes = _processes(rendered[community])
    assert {service for _, service, _ in processes} == set(SETTINGS)
    for ident, service, container in processes:
        env = _environment(container, community_id)
        try:
            settings = _load(monkeypatch, service, env)
        except ValidationError as exc:
            pytest.fail(f"{ident} would not start: {exc}")
        if service != "gateway":  # the gateway holds no data
            assert settings.database_url == "sqlite://", ident


def test_rewards_would_not_start_without_its_voucher_keys(rendered, monkeypatch):
    # The control for the test above: the rewards settings refuse an environment without
    # the keyring, so the test would catch a chart that left it out.
    rewards = [
        container
        for _, service, container in _processes(rendered["community-xinhua.yaml"])
        if service == "rewards"
    ]
    assert len(rewards) == 2, "the Deployment and the migration Job"
    for container in rewards:
        env = _environment(container, "xinhua")
        del env["LINLI_REWARDS_VOUCHER_KEYS"]
        with pytest.raises(ValidationError, match="voucher_keys"):
            _load(monkeypatch, "rewards", env)


def test_partners_would_not_start_without_its_proof_keys(rendered, monkeypatch):
    # The same control for partners: exactly one of the keyring and the development key.
    partners = [
        container
        for _, service, container in _processes(rendered["community-xinhua.yaml"])
        if service == "partners"
    ]
    assert len(partners) == 2, "the Deployment and the migration Job"
    for container in partners:
        env = _environment(container, "xinhua")
        del env["LINLI_PARTNERS_PROOF_KEYS"]
        with pytest.raises(ValidationError, match="proof_keys"):
            _load(monkeypatch, "partners", env)


def _partners_deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The container of the partners Deployment (not its migration Job)."""
    (container,) = [
        container
        for ident, service, container in _processes(docs)
        if service == "partners" and ident.startswith("Deployment/")
    ]
    return container


def test_partners_reads_the_title_thresholds_the_chart_renders(rendered, examples, monkeypatch):
    # The examples keep the policy's 50,000 yuan; a community's own figure reaches the service.
    settings = _load(
        monkeypatch,
        "partners",
        _environment(_partners_deployment(rendered["community-xinhua.yaml"]), "xinhua"),
    )
    assert settings.title_threshold("xinhua") == 5_000_000
    values = deep_merge(
        examples["community-xinhua.yaml"],
        {"partners": {"titleThresholds": {"xinhua": 3_000_000}, "boardPollSeconds": 1.5}},
    )
    name, namespace = release_of(values)
    docs = render(values, name=name, namespace=namespace)
    settings = _load(monkeypatch, "partners", _environment(_partners_deployment(docs), "xinhua"))
    assert settings.title_threshold("xinhua") == 3_000_000
    assert settings.board_poll_seconds == 1.5
