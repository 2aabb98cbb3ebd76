"""Offline chart checks: render with helm-python-sdk, validate with kubernetes-validate."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml
from kubernetes_validate.utils import all_versions

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "deploy" / "helm" / "linli"
EXAMPLES_DIR = REPO / "deploy" / "helm" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("community-*.yaml"))

# Oldest and newest Kubernetes versions kubernetes-validate ships schemas for.
KUBE_VERSIONS = (all_versions()[0], all_versions()[-1])

# Custom resources of the Prometheus operator: kubernetes-validate has no schema for
# them, so tests check their structure themselves. Any other kind without a schema fails.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


def load_values(path: Path) -> dict[str, Any]:
    """Read one values file."""
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(values, dict), f"{path.name} is not a mapping"
    return values


def release_of(values: dict[str, Any]) -> tuple[str, str]:
    """(release name, namespace) deploy/README.md installs a community as."""
    namespace = values["community"]["namespace"]
    return namespace, namespace


def render(
    values: dict[str, Any],
    *,
    name: str,
    namespace: str,
    chart_dir: Path = CHART_DIR,
) -> list[dict[str, Any]]:
    """Render the chart offline as an install; raises helm_python.HelmError on failure."""
    with helm.Chart.load(chart_dir) as chart:
        chart.validate_schema(values)
        files = chart.render(values, name=name, namespace=namespace, is_install=True)
    docs: list[dict[str, Any]] = []
    for path, text in sorted(files.items()):
        if not path.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def lint_errors(values: dict[str, Any], *, namespace: str, kube_version: str) -> list[str]:
    """`helm lint --strict` findings of warning level or worse, as text."""
    report = helm.lint(
        CHART_DIR, values, strict=True, namespace=namespace, kube_version=f"v{kube_version}"
    )
    problems = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2]
    return problems + [e for e in report["errors"] if e not in str(problems)]


def validation_errors(docs: list[dict[str, Any]], kube_version: str) -> list[str]:
    """kubernetes-validate --strict problems of every manifest, as text (empty: all valid)."""
    problems = []
    for doc in docs:
        ident = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            problems.append(f"{ident} @ {kube_version}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            if (doc.get("apiVersion"), doc.get("kind")) not in CRD_KINDS:
                problems.append(f"{ident} @ {kube_version}: no schema for {doc.get('apiVersion')}")
    return problems


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Values-file layering as `helm -f base -f overlay` does it (maps merge, rest replace)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Manifests of one kind."""
    return [d for d in docs if d["kind"] == kind]


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload that makes pods."""
    return [
        (f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"])
        for d in docs
        if d["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet"}
    ]
