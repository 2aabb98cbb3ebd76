"""The Dockerfiles build the right thing safely; `make images` says so where it cannot."""

from __future__ import annotations

import re
import shutil
import subprocess

import chartcheck
import pytest

SERVICES = ["identity", "attendance", "points"]


def _stages(text: str) -> list[tuple[str, str]]:
    """(FROM line, body) per build stage."""
    parts = re.split(r"^(FROM .+)$", text, flags=re.M)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]


@pytest.mark.parametrize("svc", SERVICES)
def test_dockerfile_is_multi_stage_non_root_and_lean(svc):
    text = (chartcheck.REPO / "services" / svc / "Dockerfile").read_text(encoding="utf-8")
    stages = _stages(text)
    assert len(stages) >= 2
    build = "".join(body for _, body in stages[:-1])
    _, final = stages[-1]
    # Build stage: uv, the lock as constraints, the generated gRPC code, this service only.
    assert "uv pip install" in build and "requirements.lock" in build
    assert "grpc_tools.protoc" in build
    assert f"./services/{svc}" in build
    other = [s for s in SERVICES if s != svc]
    assert not any(f"services/{o}" in text for o in other)
    # Final stage: no build tools, a fixed non-root uid matching the chart, the entrypoint.
    assert not re.search(
        r"\b(uv|gcc|g\+\+|build-essential|cmake|make)\b",
        final.split("ENV")[0].replace("--no-install-recommends", ""),
    ), final
    assert "COPY --from=uv" not in final
    user = re.search(r"^USER (\d+)(?::(\d+))?$", final, re.M)
    assert user and user.group(1) == "10001"
    assert f'ENTRYPOINT ["linli-{svc}"]' in final and 'CMD ["serve"]' in final
    assert re.search(r"^EXPOSE 50051 9464$", final, re.M)
    assert "PYTHONDONTWRITEBYTECODE=1" in final and "UV_COMPILE_BYTECODE=1" in build


@pytest.mark.parametrize("svc", SERVICES)
def test_build_context_leaves_out_generated_code_and_local_state(svc):
    ignore = (chartcheck.REPO / "services" / svc / "Dockerfile.dockerignore").read_text()
    lines = {line.strip() for line in ignore.splitlines()}
    assert {"**", "libs/linli-api/src", "**/.venv"} <= lines


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
