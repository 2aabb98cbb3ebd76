"""Identity settings fail fast on bad face settings, template keys and signing keys."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pydantic import ValidationError

from linli_identity.bootstrap import build_cipher, build_signer
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


def test_insightface_needs_its_own_thresholds_and_a_curve_must_fall() -> None:
    with pytest.raises(ValidationError, match="face_thresholds needs an entry for 'insightface'"):
        IdentitySettings(**REQUIRED, face_engine="insightface", face_model_dir="/packs/buffalo_l")
    rising = {"verification_threshold": 0.93, "far_curve": [[0.9, 1e-4], [0.95, 1e-3]]}
    with pytest.raises(ValidationError, match=r"face_thresholds\['dlib/c-east'\].*never rise"):
        IdentitySettings(**REQUIRED, face_thresholds={"dlib/c-east": rising})
    falling = {"verification_threshold": 0.9, "far_curve": [[0.9, 1e-3], [0.95, 1e-5]]}
    book = IdentitySettings(**REQUIRED, face_thresholds={"dlib/c-east": falling}).open_set_book()
    assert book.rule("dlib", "c-east").verification_threshold == 0.9
    assert book.rule("dlib", "c-west").verification_threshold == 0.93  # the shipped default


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


def test_signing_keys_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LINLI_IDENTITY_SIGNING_KEYS", f'{{"current": "s1", "keys": {{"s1": "{KEY}"}}}}'
    )
    signer = build_signer(IdentitySettings(**REQUIRED))

    assert signer.current_key_id == "s1" and [k["kid"] for k in signer.jwks()] == ["s1"]


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ({"signing_keys": {"current": "s1", "keys": {"s1": "not base64!"}}}, "base64"),
        ({"signing_keys": {"current": "s2", "keys": {"s1": KEY}}}, "not in keys"),
        (
            {"signing_keys": {"current": "s1", "keys": {"s1": base64.b64encode(b"x").decode()}}},
            "32",
        ),
        (
            {"signing_keys": {"current": "s1", "keys": {"s1": KEY}}, "dev_signing_keys": True},
            "exclude each other",
        ),
    ],
)
def test_bad_signing_keys_stop_the_service(setting: dict, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        IdentitySettings(**REQUIRED, **setting)


def test_without_signing_keys_login_is_off_and_the_dev_flag_signs_with_a_public_key() -> None:
    assert build_signer(IdentitySettings(**REQUIRED)).jwks() == []
    assert build_signer(IdentitySettings(**REQUIRED, dev_signing_keys=True)).current_key_id == "dev"
