"""The key two links are compared by: what makes two links the same link, and what does not."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orders.links import TRACKING_PARAMETERS, link_normalise
from orders.services.placing import url_error


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.instagram.com/p/ABC123/",
        "http://instagram.com/p/ABC123",
        "instagram.com/p/ABC123",
        "www.instagram.com/p/ABC123//",
        "HTTPS://WWW.Instagram.COM/p/ABC123/",
        "https://m.instagram.com/p/ABC123/",
        "https://instagram.com:443/p/ABC123",
        "https://www.instagram.com/p/ABC123/?igshid=MzRlODBiNWFlZA==",
        "https://www.instagram.com/p/ABC123/?utm_source=ig_web_copy_link&igsh=abc",
        "https://instagram.com/p/ABC123?fbclid=IwAR0x#comments",
        "  https://instagram.com/p/ABC123  ",
    ],
)
def test_the_scheme_www_case_of_the_host_trailing_slashes_and_tracking_parameters_are_ignored(variant):
    assert link_normalise(variant) == "instagram.com/p/ABC123"


def test_youtube_share_parameters_go_and_the_video_stays():
    assert link_normalise("https://youtu.be/dQw4w9WgXcQ?si=Xyz123") == "youtu.be/dQw4w9WgXcQ"
    assert (
        link_normalise("https://www.youtube.com/watch?feature=share&v=dQw4w9WgXcQ&utm_medium=x")
        == "youtube.com/watch?v=dQw4w9WgXcQ"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://instagram.com/p/ABC123", "https://instagram.com/p/abc123"),  # ids are case-sensitive
        ("https://instagram.com/p/ABC123", "https://instagram.com/p/ABC124"),
        ("https://youtube.com/watch?v=aaa", "https://youtube.com/watch?v=bbb"),
        ("https://instagram.com/p/ABC123", "https://tiktok.com/p/ABC123"),
        ("https://example.com:8080/a", "https://example.com/a"),
    ],
)
def test_links_to_different_things_keep_different_keys(one, other):
    assert link_normalise(one) != link_normalise(other)


def test_an_empty_link_has_the_empty_key():
    assert link_normalise("") == link_normalise("   ") == ""


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(com|net|tv|me)", fullmatch=True)
segments = st.lists(st.from_regex(r"[A-Za-z0-9_.~-]{1,12}", fullmatch=True), max_size=4)
parameters = st.lists(
    st.tuples(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_-]{0,8}", fullmatch=True),
    ),
    max_size=3,
)
tracking = st.lists(
    st.tuples(
        st.sampled_from(sorted(TRACKING_PARAMETERS) + ["utm_source", "utm_campaign", "UTM_Medium"]),
        st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
    ),
    max_size=3,
)


def _link(scheme: str, www: str, host: str, path: list[str], slash: str, query: list[tuple[str, str]]) -> str:
    text = f"{scheme}{www}{host}/{'/'.join(path)}{slash}"
    return text + ("?" + "&".join(f"{name}={value}" for name, value in query) if query else "")


@given(
    host=hosts,
    path=segments,
    query=parameters,
    noise=tracking,
    scheme=st.sampled_from(["https://", "http://", ""]),
    www=st.sampled_from(["", "www."]),
    slash=st.sampled_from(["", "/", "//"]),
)
def test_any_link_and_its_shared_variant_have_one_key(host, path, query, noise, scheme, www, slash):
    query = [
        (name, value)
        for name, value in query
        if name not in TRACKING_PARAMETERS and not name.startswith("utm_")
    ]
    plain = _link("https://", "", host, path, "", query)
    shared = _link(scheme, www, host, path, slash, [*noise, *reversed(query)])
    assert link_normalise(shared) == link_normalise(plain)


@given(
    st.from_regex(
        r"(https?://)?(www\.|m\.)?[a-z0-9.-]{1,10}\.[a-z]{2,3}(:[0-9]{1,5})?(/[!-~]{0,20})?", fullmatch=True
    )
)
def test_the_key_of_a_valid_link_is_its_own_key(text):
    assume(url_error(text) is None)
    key = link_normalise(text)
    assert link_normalise(key) == key


@given(host=hosts, path=segments, other=st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True))
def test_another_path_segment_is_another_link(host, path, other):
    assert link_normalise(f"https://{host}/{'/'.join(path)}") != link_normalise(
        f"https://{host}/{'/'.join([*path, other])}"
    )
