"""Identity settings fail fast on bad face settings and template keys."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pydantic import ValidationError

from linli_identity.bootstrap import build_cipher
from linli_identity.config import IdentitySettings
from linli_identity.domain.face import FaceTemplate
from linli_kit.errors import NotFound

REQUIRED = {"database_url": "sqlite://", "redis_url": "redis://localhost"}
KEY = base64.b64encode(bytes(range(32))).decode()


def test_template_keys_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LINLI_IDENTITY_TEMPLATE_KEYS",
        f'{{"c-east": {{"current": "k1", "keys": {{"k1": "{KEY}"}}}}}}',
    )
    settings = IdentitySettings(**REQUIRED)
    assert settings.keyrings()["c-east"].key("k1") == bytes(range(32))
    assert settings.face_engine == "dlib" and not settings.dev_template_keys


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({"c": {"current": "k1", "keys": {"k1": "not base64!"}}}, "base64"),
        ({"c": {"current": "k1", "keys": {"k1": base64.b64encode(b"short").decode()}}}, "32 bytes"),
        ({"c": {"current": "k2", "keys": {"k1": KEY}}}, "not in the keyring"),
    ],
)
def test_bad_template_keys_stop_the_service(keys: dict, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        IdentitySettings(**REQUIRED, template_keys=keys)


def test_insightface_needs_a_model_directory() -> None:
    with pytest.raises(ValidationError, match="face_model_dir"):
        IdentitySettings(**REQUIRED, face_engine="insightface")


def test_dev_keys_only_when_enabled() -> None:
    template = FaceTemplate(vector=np.ones(128), engine="dlib", model_version="m1")
    with pytest.raises(NotFound, match="no face template key"):
        build_cipher(IdentitySettings(**REQUIRED)).encrypt("c-east", "r1", template)
    cipher = build_cipher(IdentitySettings(**REQUIRED, dev_template_keys=True))
    sealed = cipher.encrypt("c-east", "r1", template)
    assert sealed.key_id == "dev"
    # Derived, not random: a restarted `make run` can still read its templates.
    again = build_cipher(IdentitySettings(**REQUIRED, dev_template_keys=True))
    assert again.decrypt("c-east", "r1", sealed).similarity(template) == pytest.approx(1.0)
