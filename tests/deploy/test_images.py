"""The Dockerfiles build the right thing safely; `make images` says so where it cannot."""

from __future__ import annotations

import re
import shutil
import subprocess

import chartcheck
import pytest

SERVICES = ["identity", "attendance", "points", "rewards", "training", "partners", "gateway"]


def _stages(text: str) -> list[tuple[str, str]]:
    """(FROM line, body) per build stage."""
    parts = re.split(r"^(FROM .+)$", text, flags=re.M)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]


DOCKERFILE = chartcheck.REPO / "deploy" / "Dockerfile"


def test_one_dockerfile_is_multi_stage_non_root_and_lean():
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = _stages(text)
    assert len(stages) >= 2
    build = "".join(body for _, body in stages[:-1])
    _, final = stages[-1]
    # Build stage: uv, the lock as constraints, the generated gRPC code, the chosen service only.
    assert "uv pip install" in build and "requirements.lock" in build
    assert "grpc_tools.protoc" in build
    assert "COPY services/${SERVICE} ./services/${SERVICE}" in build
    assert "./services/${SERVICE}" in build
    assert not any(f"services/{svc}" in text for svc in SERVICES), "no service is named"
    # Final stage: no build tools, a fixed non-root uid matching the chart, the entrypoint.
    assert not re.search(
        r"\b(uv|gcc|g\+\+|build-essential|cmake|make)\b",
        final.split("ENV")[0].replace("--no-install-recommends", ""),
    ), final
    assert "COPY --from=uv" not in final
    user = re.search(r"^USER (\d+)(?::(\d+))?$", final, re.M)
    assert user and user.group(1) == "10001"
    assert "ln -s linli-${SERVICE} /opt/venv/bin/linli-service" in build
    assert 'ENTRYPOINT ["linli-service"]' in final and 'CMD ["serve"]' in final
    assert re.search(r"^EXPOSE 50051 9464$", final, re.M)
    assert "PYTHONDONTWRITEBYTECODE=1" in final and "UV_COMPILE_BYTECODE=1" in build
    assert not list(chartcheck.REPO.glob("services/*/Dockerfile")), "one Dockerfile, not copies"


def test_build_context_leaves_out_generated_code_and_local_state():
    ignore = (chartcheck.REPO / "deploy" / "Dockerfile.dockerignore").read_text()
    lines = {line.strip() for line in ignore.splitlines()}
    assert {"**", "libs/linli-api/src", "**/.venv"} <= lines


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_images_builds_each_service_from_the_one_dockerfile(tmp_path):
    docker = tmp_path / "docker"
    docker.write_text('#!/bin/sh\necho "$@"\n')
    docker.chmod(0o755)
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", "deploy/images.mk", "images", f"DOCKER={docker}"],
        cwd=chartcheck.REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    builds = [line for line in result.stdout.splitlines() if line.startswith("build ")]
    assert len(builds) == len(SERVICES)
    for svc, line in zip(SERVICES, builds, strict=True):
        assert "--file deploy/Dockerfile" in line and f"--build-arg SERVICE={svc}" in line
        assert f"/linli-{svc}:" in line
    assert "RUNTIME_PACKAGES=libgomp1 libgl1 libglib2.0-0" in builds[0]
    assert all("RUNTIME_PACKAGES= " in line for line in builds[1:])


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_images_fails_loudly_without_a_docker_engine(tmp_path):
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            "deploy/images.mk",
            "images",
            f"DOCKER={tmp_path}/no-docker",
        ],
        cwd=chartcheck.REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no Docker engine" in result.stderr
