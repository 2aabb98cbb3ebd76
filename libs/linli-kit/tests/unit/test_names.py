"""Resource names, community ids, page sizes and page tokens."""

from __future__ import annotations

import base64

import pytest

from linli_kit.errors import InvalidArgument
from linli_kit.names import (
    COMMUNITY,
    RESIDENT,
    check_community_id,
    decode_page_token,
    encode_page_token,
    next_page_token,
    page_size,
)


def test_a_resource_name_splits_a_name_by_its_pattern() -> None:
    assert RESIDENT.parse("communities/c-east/residents/r0a1b2") == {
        "community": "c-east",
        "resident": "r0a1b2",
    }


@pytest.mark.parametrize(
    "name",
    [
        "",
        "communities/c-east",
        "communities/c-east/residents/",
        "communities/C-East/residents/r1",
        "communities/c-east/residents/r1/extra",
        "communities/c-east/activities/a1",
        "/communities/c-east/residents/r1",
        "communities/c/residents/r1",
        "communities/1c/residents/r1",
    ],
)
def test_a_resource_name_refuses_names_that_do_not_fit(name: str) -> None:
    with pytest.raises(
        InvalidArgument, match=r"resident must look like .communities/\{community\}/"
    ):
        RESIDENT.parse(name, field="resident")


def test_a_resource_name_refuses_a_trailing_newline() -> None:
    with pytest.raises(InvalidArgument):
        RESIDENT.parse("communities/c-east/residents/r1\n")


@pytest.mark.parametrize("community_id", ["ab", "c-east", "c" + "0" * 62])
def test_valid_community_ids_are_returned(community_id: str) -> None:
    assert check_community_id(community_id) == community_id


@pytest.mark.parametrize("community_id", ["", "a", "1abc", "-abc", "Abc", "c_east", "c" * 64])
def test_invalid_community_ids_are_refused(community_id: str) -> None:
    with pytest.raises(InvalidArgument, match="community_id must be 2-63"):
        check_community_id(community_id)


def test_a_community_id_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        check_community_id("c-east\n")


@pytest.mark.parametrize(
    ("requested", "used"), [(0, 50), (1, 1), (50, 50), (500, 500), (501, 500), (10_000, 500)]
)
def test_page_size_defaults_and_caps(requested: int, used: int) -> None:
    assert page_size(requested) == used


def test_a_negative_page_size_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="page_size"):
        page_size(-1)


@pytest.mark.parametrize("offset", [0, 1, 50, 123_456])
def test_page_tokens_round_trip(offset: int) -> None:
    assert decode_page_token(encode_page_token(offset)) == offset


def test_no_token_means_the_first_page() -> None:
    assert decode_page_token("") == 0


def test_tokens_are_opaque() -> None:
    assert encode_page_token(50) == "bzo1MA=="


def _b64(text: str) -> str:
    """A URL-safe base64 token of the given text."""
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        "bzo",
        _b64("x:5"),
        _b64("o:-1"),
        _b64("o:five"),
        _b64("o"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_tokens_this_server_did_not_issue_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument, match="page_token is not one this server issued"):
        decode_page_token(token)


def test_a_resource_name_formats_and_parses_its_ids() -> None:
    session = RESIDENT.child("sessions/{session}")
    name = session.format(community="xinhua", resident="r-1", session="s-9")
    assert name == "communities/xinhua/residents/r-1/sessions/s-9"
    assert session.parse(name) == {"community": "xinhua", "resident": "r-1", "session": "s-9"}
    assert COMMUNITY.parse("communities/xinhua") == {"community": "xinhua"}


def test_a_name_of_another_shape_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidArgument, match="parent must look like 'communities/"):
        COMMUNITY.parse("communities/xinhua/residents/r-1", field="parent")


def test_the_next_page_token_is_empty_on_the_last_page() -> None:
    assert next_page_token(0, 50, has_more=False) == ""
    assert decode_page_token(next_page_token(50, 50, has_more=True)) == 100


def test_a_page_token_past_any_list_is_refused() -> None:
    huge = base64.urlsafe_b64encode(b"o:99999999999999999999999").decode()
    with pytest.raises(InvalidArgument, match="page_token"):
        decode_page_token(huge)
