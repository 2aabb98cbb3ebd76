"""Broken values and broken templates make the checks fail, with a message that says why."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import chartcheck
import helm_python as helm
import pytest
import yaml

BAD = sorted((Path(__file__).parent / "bad_values").glob("*.yaml"))
BASE = chartcheck.EXAMPLES_DIR / "community-xinhua.yaml"


@pytest.mark.parametrize("overlay", BAD, ids=[p.stem for p in BAD])
def test_bad_values_file_fails_render_and_lint(overlay):
    text = overlay.read_text(encoding="utf-8")
    expected = re.search(r"^# expect: (.+)$", text, re.M).group(1)
    values = chartcheck.deep_merge(chartcheck.load_values(BASE), yaml.safe_load(text))
    name, namespace = chartcheck.release_of(values)

    with pytest.raises(helm.HelmError) as failure:
        chartcheck.render(values, name=name, namespace=namespace)
    assert expected in str(failure.value)

    # Helm lint runs templates in "lint mode", where `fail` and `required` only log, so
    # it can be held only to the schema violations; render catches the rest.
    if "schema" in str(failure.value):
        lint = chartcheck.lint_errors(
            values, namespace=namespace, kube_version=chartcheck.KUBE_VERSIONS[-1]
        )
        assert any(expected in e for e in lint), lint


def test_the_good_base_passes(examples):
    # The control for the test above: without the overlay the same pipeline is clean.
    values = chartcheck.load_values(BASE)
    name, namespace = chartcheck.release_of(values)
    docs = chartcheck.render(values, name=name, namespace=namespace)
    assert chartcheck.validation_errors(docs, chartcheck.KUBE_VERSIONS[0]) == []


def test_a_broken_template_fails_strict_validation(tmp_path):
    # A typo in a template still renders, and only the strict Kubernetes schema catches it.
    chart = tmp_path / "linli"
    shutil.copytree(chartcheck.CHART_DIR, chart)
    services = chart / "templates" / "services.yaml"
    source = services.read_text(encoding="utf-8")
    assert "readinessProbe:" in source
    services.write_text(source.replace("readinessProbe:", "readynessProbe:"), encoding="utf-8")

    values = chartcheck.load_values(BASE)
    name, namespace = chartcheck.release_of(values)
    docs = chartcheck.render(values, name=name, namespace=namespace, chart_dir=chart)
    for version in chartcheck.KUBE_VERSIONS:
        errors = chartcheck.validation_errors(docs, version)
        assert errors and all("readynessProbe" in e for e in errors), errors
