"""Canonical URLs: one article, one URL, however the link reached us."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinorus.urls import canonical_from_html, canonical_url, host_of

CASES = [
    # scheme and host case, default port, fragment, empty query
    ("HTTP://WWW.Example.COM:80/news?#top", "http://www.example.com/news"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com./a", "https://example.com/a"),
    # tracking parameters go, others stay in their order
    (
        "https://tass.com/politics/1?utm_source=rss&id=5&fbclid=abc&b=2&UTM_Medium=x",
        "https://tass.com/politics/1?id=5&b=2",
    ),
    ("https://x.ru/a?from=rss&rss=1&yclid=9&spm=a.b", "https://x.ru/a"),
    ("https://x.com/a?at_medium=RSS&at_campaign=KARANGA&ito=1&s_cid=2", "https://x.com/a"),
    ("https://x.com/a?ref=home&ref_src=twsrc&cmpid=f&mc_cid=1&mc_eid=2", "https://x.com/a"),
    ("https://x.com/a?igshid=1&_ga=2&gclid=3&page=2", "https://x.com/a?page=2"),
    ("https://x.com/a?q=a+b&&x=1", "https://x.com/a?q=a+b&x=1"),
    # percent-encoding: unreserved decoded, others upper-cased, raw non-ASCII escaped
    ("https://e.com/%7euser/%e4%b8%ad", "https://e.com/~user/%E4%B8%AD"),
    ("https://e.com/a%2Fb?q=%2f%41", "https://e.com/a%2Fb?q=%2FA"),
    ("https://e.com/новости/1", "https://e.com/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/1"),
    ("https://e.com/a b", "https://e.com/a%20b"),
    ("https://e.com/100%", "https://e.com/100%25"),
    # dot segments
    ("https://e.com/a/./b/../c", "https://e.com/a/c"),
    ("https://e.com/../../x", "https://e.com/x"),
    # IDNA hosts
    ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
    ("https://新华网.中国/a", "https://xn--xkrr14bows.xn--fiqs8s/a"),
    ("https://XN--E1AFMKFD.XN--P1AI/", "https://xn--e1afmkfd.xn--p1ai/"),
    # AMP copies
    ("https://e.com/news/2024/05/story/amp/", "https://e.com/news/2024/05/story/"),
    ("https://e.com/news/story/amp", "https://e.com/news/story"),
    ("https://e.com/news/story?amp", "https://e.com/news/story"),
    ("https://e.com/news/story?amp=1&id=2", "https://e.com/news/story?id=2"),
    ("https://e.com/amp", "https://e.com/amp"),
    ("https://e.com/amplifier/x", "https://e.com/amplifier/x"),
    # redirect wrappers
    (
        "https://www.google.com/url?rct=j&sa=t&url=https://www.reuters.com/world/china/"
        "x-2024-05-16/%3Futm_source%3Drss&ct=ga&cd=1",
        "https://www.reuters.com/world/china/x-2024-05-16/",
    ),
    (
        "https://www.google.ru/url?q=https%3A%2F%2Fria.ru%2F20240516%2Fputin.html&sa=U",
        "https://ria.ru/20240516/putin.html",
    ),
    (
        "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=1&url="
        "https%3a%2f%2fwww.scmp.com%2fnews%2fchina%2farticle%2f1&c=2&mkt=en-us",
        "https://www.scmp.com/news/china/article/1",
    ),
    (
        "https://news.google.com/rss/articles/CBMiK2h0dHBzOi8vZXhhbXBsZS5jb20?oc=5",
        "https://news.google.com/rss/articles/CBMiK2h0dHBzOi8vZXhhbXBsZS5jb20?oc=5",
    ),
    (
        "https://www.google.com/url?q=javascript:alert(1)",
        "https://www.google.com/url?q=javascript:alert(1)",
    ),
    # credentials are dropped; IPv6 literals kept
    ("https://user:pw@e.com/a", "https://e.com/a"),
    ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    # not http(s), or not a URL at all
    ("javascript:alert(1)", None),
    ("mailto:a@b.c", None),
    ("ftp://e.com/file", None),
    ("//e.com/a", None),
    ("", None),
    ("   ", None),
    ("http://", None),
    ("http://[::1", None),
    ("http://e.com:99999/", None),
    ("http://exa mple.com/", None),
    ("http://e<x>.com/", None),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("../x?y=1", "https://e.com/a/b/c", "https://e.com/a/x?y=1"),
        ("/news/1#c", "https://www.e.com/other", "https://www.e.com/news/1"),
        ("//cdn.e.com/a", "https://e.com/", "https://cdn.e.com/a"),
        ("?page=2", "https://e.com/list?page=1", "https://e.com/list?page=2"),
        ("https://abs.com/x", "https://e.com/", "https://abs.com/x"),
        ("mailto:x@e.com", "https://e.com/", None),
        ("  /padded\n/path ", "https://e.com/", "https://e.com/padded/path"),
    ],
)
def test_canonical_url_relative(url: str, base: str, expected: str | None) -> None:
    assert canonical_url(url, base=base) == expected


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("www.tass.com", "tass.com"),
        ("https://www.tass.com/politics", "tass.com"),
        ("https://m.ria.ru/20240516/", "ria.ru"),
        ("https://amp.theguardian.com/world", "theguardian.com"),
        ("https://english.news.cn/x", "english.news.cn"),
        ("https://WWW.Kremlin.RU:443/", "kremlin.ru"),
        ("https://www.com/", "www.com"),
        ("not a url at all", ""),
        ("", ""),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


PAGE = "https://www.example.com/world/2024/05/16/putin-xi?utm_source=rss"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<link rel="canonical" href="/world/2024/05/16/putin-xi?ref=home">',
            "https://www.example.com/world/2024/05/16/putin-xi",
        ),
        (
            '<link rel="Canonical Alternate" href="https://example.com/a/1">',
            "https://example.com/a/1",
        ),
        (
            '<meta property="og:url" content="https://www.example.com/world/putin-xi#x">',
            "https://www.example.com/world/putin-xi",
        ),
        (
            '<meta property="og:url" content="https://www.example.com/og">'
            '<link rel="canonical" href="https://www.example.com/canon">',
            "https://www.example.com/canon",
        ),
        # syndicated copy pointing at the original outlet's article: kept
        (
            '<link rel="canonical" href="https://www.reuters.com/world/x-2024-05-16/">',
            "https://www.reuters.com/world/x-2024-05-16/",
        ),
        # a template pointing every article at a home page: ignored, whoever's it is
        ('<link rel="canonical" href="https://www.othersite.com/">', None),
        ('<link rel="canonical" href="/">', None),
        (
            '<link rel="canonical" href="https://othersite.com/"><meta property="og:url"'
            ' content="https://www.example.com/real">',
            "https://www.example.com/real",
        ),
        ('<link rel="canonical" href="javascript:void(0)">', None),
        ('<link rel="canonical" href="">', None),
        ('<link rel="stylesheet" href="/style.css">', None),
        ("", None),
    ],
)
def test_canonical_from_html(head: str, expected: str | None) -> None:
    html = f"<html><head><title>t</title>{head}</head><body><p>text</p></body></html>"
    assert canonical_from_html(html, PAGE) == expected
    assert canonical_from_html(html.encode("utf-8"), PAGE) == expected


def test_canonical_from_html_home_page_may_be_canonical() -> None:
    html = '<html><head><link rel="canonical" href="https://www.example.com/"></head></html>'
    assert canonical_from_html(html, "https://example.com/?from=rss") == "https://www.example.com/"


@pytest.mark.parametrize(
    "html",
    [b"", b"\x00\xff\xfe garbage", "<<<>>>", b"<?xml version='1.0'?><rss/>", "\ud800"],
)
def test_canonical_from_html_bad_input(html: bytes | str) -> None:
    assert canonical_from_html(html, PAGE) is None


def test_canonical_from_html_bad_page_url() -> None:
    html = '<link rel="canonical" href="/a">'
    assert canonical_from_html(html, "not a url") is None


def test_canonical_from_html_legacy_encoding() -> None:
    html = (
        '<html><head><meta charset="windows-1251">'
        '<link rel="canonical" href="https://ria.ru/20240516/путин.html"></head></html>'
    ).encode("cp1251")
    assert canonical_from_html(html, "https://ria.ru/x") == (
        "https://ria.ru/20240516/%D0%BF%D1%83%D1%82%D0%B8%D0%BD.html"
    )


# --- properties ------------------------------------------------------------------------------

URLISH = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}{query}{frag}",
        st.sampled_from(["http", "HTTPS", "https", "ftp", "hTTp", ""]),
        st.one_of(
            st.from_regex(r"[A-Za-z0-9.\-]{1,20}(:[0-9]{1,6})?", fullmatch=True),
            st.text(max_size=20),
            st.sampled_from(["[::1]", "пример.рф", "www.google.com", "xn--p1ai", "[fe80::1%25x]"]),
        ),
        st.text(max_size=30).map(lambda t: "/" + t),
        st.one_of(
            st.just(""),
            st.lists(
                st.tuples(
                    st.sampled_from(["utm_source", "id", "q", "url", "amp", "a%20b", "ref", ""]),
                    st.text(max_size=15),
                ),
                max_size=4,
            ).map(lambda kv: "?" + "&".join(f"{k}={v}" for k, v in kv)),
        ),
        st.one_of(st.just(""), st.text(max_size=10).map(lambda t: "#" + t)),
    ),
)


@settings(max_examples=600, deadline=None)
@given(URLISH)
def test_canonical_url_properties(url: str) -> None:
    once = canonical_url(url)
    assert once is None or once.startswith(("http://", "https://"))
    if once is not None:
        assert once.isascii()
        assert "#" not in once
        assert canonical_url(once) == once


@settings(max_examples=300, deadline=None)
@given(URLISH, URLISH)
def test_canonical_url_with_base_never_raises(url: str, base: str) -> None:
    once = canonical_url(url, base=base)
    assert once is None or canonical_url(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_host_of_never_raises(text: str) -> None:
    assert isinstance(host_of(text), str)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)), URLISH)
def test_canonical_from_html_never_raises(html: str | bytes, page: str) -> None:
    found = canonical_from_html(html, page)
    assert found is None or canonical_url(found) == found
