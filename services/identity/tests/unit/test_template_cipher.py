"""AES-GCM template encryption: round trip, binding to owner, tamper detection, rotation."""

import base64
import json
import os

import numpy as np
import pytest

from linli_identity.adapters.template_cipher import EncryptedTemplate, TemplateCipher
from linli_identity.domain.face import FaceTemplate
from linli_identity.domain.template_keys import Keyring, TemplateUnreadable
from linli_kit.errors import InvalidArgument, NotFound

K1, K2, OTHER = os.urandom(32), os.urandom(32), os.urandom(32)


def template() -> FaceTemplate:
    return FaceTemplate(np.random.default_rng(7).normal(size=128), "dlib", "resnet_v1")


def cipher(current: str = "k1") -> TemplateCipher:
    keys = {"k1": K1, "k2": K2} if current == "k2" else {"k1": K1}
    return TemplateCipher({"c1": Keyring(keys, current), "c2": Keyring({"k1": OTHER}, "k1")})


def test_round_trip_keeps_vector_engine_and_version() -> None:
    original = template()
    sealed = cipher().encrypt("c1", "r1", original)
    opened = cipher().decrypt("c1", "r1", EncryptedTemplate.from_bytes(sealed.to_bytes()))
    assert np.array_equal(opened.vector, original.vector)
    assert (opened.engine, opened.model_version) == ("dlib", "resnet_v1")
    assert sealed.key_id == "k1" and len(sealed.nonce) == 12


def test_ciphertext_does_not_contain_the_plaintext_and_nonces_differ() -> None:
    t = template()
    a, b = cipher().encrypt("c1", "r1", t), cipher().encrypt("c1", "r1", t)
    assert t.vector.tobytes()[:16] not in a.to_bytes()
    assert b"dlib" not in a.to_bytes()
    assert a.nonce != b.nonce and a.ciphertext != b.ciphertext


@pytest.mark.parametrize(("community", "resident"), [("c1", "r2"), ("c2", "r1")])
def test_template_is_bound_to_its_community_and_resident(community: str, resident: str) -> None:
    sealed = cipher().encrypt("c1", "r1", template())
    with pytest.raises(TemplateUnreadable):
        cipher().decrypt(community, resident, sealed)


def test_tampering_is_detected() -> None:
    blob = bytearray(cipher().encrypt("c1", "r1", template()).to_bytes())
    blob[-20] ^= 1
    with pytest.raises(TemplateUnreadable):
        cipher().decrypt("c1", "r1", EncryptedTemplate.from_bytes(bytes(blob)))


def test_rotation_re_encrypts_under_the_current_key_and_old_key_can_retire() -> None:
    old = cipher("k1").encrypt("c1", "r1", template())
    rotated = cipher("k2").rotate("c1", "r1", old)
    assert rotated.key_id == "k2"
    assert cipher("k2").rotate("c1", "r1", rotated) is rotated
    retired = TemplateCipher({"c1": Keyring({"k2": K2}, "k2")})
    assert np.array_equal(retired.decrypt("c1", "r1", rotated).vector, template().vector)
    with pytest.raises(TemplateUnreadable, match="k1"):
        retired.decrypt("c1", "r1", old)


def test_unknown_community_and_bad_keyrings() -> None:
    with pytest.raises(NotFound):
        cipher().encrypt("nowhere", "r1", template())
    with pytest.raises(InvalidArgument):
        Keyring({"k1": b"short"}, "k1")
    with pytest.raises(InvalidArgument):
        Keyring({"k1": K1}, "k9")


def test_keyring_from_json_secret() -> None:
    secret = json.dumps(
        {
            "current": "k2",
            "keys": {k: base64.b64encode(v).decode() for k, v in [("k1", K1), ("k2", K2)]},
        }
    )
    ring = Keyring.from_json(secret)
    assert ring.current_key_id == "k2" and ring.key("k1") == K1
