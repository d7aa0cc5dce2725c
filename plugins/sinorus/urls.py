"""Canonical URLs, so one article reached by many links is stored once."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

import idna

# Parameters that say how a reader arrived, never which article it is.
TRACKING_PARAMS: tuple[str, ...] = (
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "msclkid",
    "yclid",
    "ysclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "ref",
    "ref_src",
    "ref_url",
    "cmpid",
    "spm",
    "from",
    "rss",
    "at_medium",
    "at_campaign",
    "at_custom1",
    "at_custom2",
    "at_custom3",
    "at_custom4",
    "ito",
    "s_cid",
    "ocid",
    "cid_source",
    "share",
    "sharetype",
    "smid",
    "mbid",
    "wt.mc_id",
    "wt_mc_id",
    "xtor",
    "ncid",
    "sr_share",
    "fromrss",
    "rss_source",
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "hmb_", "pk_", "mtm_", "__twitter")

# Link wrappers whose target sits in a query parameter: (host pattern, path, parameters).
REDIRECT_WRAPPERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (r"(?:www\.)?google(?:\.[a-z]{2,3}){1,2}", "/url", ("q", "url")),
    (r"(?:www\.)?bing\.com", "/news/apiclick.aspx", ("url",)),
    (r"l\.facebook\.com|lm\.facebook\.com", "/l.php", ("u",)),
    (r"(?:www\.)?vk\.com", "/away.php", ("to",)),
)

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUBDELIMS = "!$&'()*+,;="
_PATH_SAFE = frozenset(_UNRESERVED | set(_SUBDELIMS) | set(":@/"))
# '&' and '=' separate parameters, so inside a key or value they stay escaped.
_QUERY_PART_SAFE = frozenset(_UNRESERVED | set("!$'()*+,;:@/?"))
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_HOST_OK = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MOBILE_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_MAX_UNWRAP = 5


def _normalise_escapes(text: str, safe: frozenset[str]) -> str:
    """Decode escaped unreserved characters, upper-case other escapes, escape the rest."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            match = _ESCAPE.match(text, i)
            if match:
                decoded = chr(int(match.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
                i += 3
                continue
            out.append("%25")
        elif char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, so /a/./b/../c and /a/c are one URL."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _idna_host(host: str) -> str | None:
    """The ASCII (punycode) form of a host name, or None when it cannot have one."""
    host = host.rstrip(".").lower()
    if not host:
        return None
    if host.isascii():
        ascii_host = host
    else:
        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError, ValueError):
            try:
                ascii_host = host.encode("idna").decode("ascii").lower()
            except (UnicodeError, ValueError):
                return None
    if not _HOST_OK.fullmatch(ascii_host) or any(len(x) > 63 for x in ascii_host.split(".")):
        return None
    return ascii_host


def _is_tracking(key: str) -> bool:
    name = unquote(key).lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _query(query: str) -> str:
    kept: list[str] = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if _is_tracking(key):
            continue
        # AMP switches such as ?amp or ?amp=1 show the same article.
        if key.lower() == "amp" and value in ("", "1", "true"):
            continue
        key = _normalise_escapes(key, _QUERY_PART_SAFE)
        kept.append(key + sep + _normalise_escapes(value, _QUERY_PART_SAFE) if sep else key)
    return "&".join(kept)


def _path(path: str) -> str:
    path = _remove_dot_segments(_normalise_escapes(path or "/", _PATH_SAFE))
    if not path.startswith("/"):
        path = "/" + path
    # ".../story/amp" and ".../story/amp/" are the AMP copy of ".../story" when a story precedes.
    for suffix in ("/amp/", "/amp"):
        head = path[: -len(suffix)]
        if path.endswith(suffix) and head.strip("/"):
            path = head + ("/" if suffix == "/amp/" else "")
            break
    return path


def _unwrap(scheme: str, host: str, path: str, query: str) -> str | None:
    """The target of a known redirect wrapper, or None when this is not one."""
    for host_pattern, wrapper_path, params in REDIRECT_WRAPPERS:
        if path.lower() != wrapper_path or not re.fullmatch(host_pattern, host):
            continue
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if unquote(key).lower() in params:
                target = unquote(value.replace("+", " ")).strip()
                if target.lower().startswith(("http://", "https://")):
                    return target
    return None


def _canonical_once(url: str) -> tuple[str, str | None] | None:
    """(canonical url, wrapped target if it is a redirect wrapper) or None when unusable."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not hostname:
        return None
    if ":" in hostname:
        host = f"[{hostname.lower()}]"
        if not re.fullmatch(r"\[[0-9a-f:.]+\]", host):
            return None
    else:
        ascii_host = _idna_host(unquote(hostname))
        if ascii_host is None:
            return None
        host = ascii_host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    raw_query = parts.query
    target = _unwrap(scheme, host, parts.path, raw_query)
    path = _path(parts.path)
    query = _query(raw_query)
    canonical = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    return canonical, target


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The canonical form of an http(s) URL, or None when it is not one."""
    if not isinstance(url, str):
        return None
    # Browsers drop tabs and newlines anywhere and spaces at the ends; so do we.
    url = re.sub(r"[\t\n\r]", "", url).strip(" \x00\x0b\x0c")
    if base:
        try:
            url = urljoin(re.sub(r"[\t\n\r]", "", base).strip(), url)
        except ValueError:
            return None
    result: str | None = None
    for _ in range(_MAX_UNWRAP):
        once = _canonical_once(url)
        if once is None:
            return result
        result, target = once
        if target is None:
            return result
        url = target
    return result


def host_of(url: str) -> str:
    """The site's host without www./m./amp. in front: www.tass.com -> tass.com; "" if none."""
    text = url.strip()
    if "://" not in text:
        text = "//" + text
    try:
        hostname = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = hostname.rstrip(".").lower()
    if not all(ch.isalnum() or ch in "-._:" for ch in host):
        return ""
    for prefix in _MOBILE_PREFIXES:
        if host.startswith(prefix) and "." in host[len(prefix) :]:
            host = host[len(prefix) :]
            break
    return host


def canonical_from_html(html: bytes | str, page_url: str) -> str | None:
    """The page's own canonical URL (link rel=canonical, else og:url), canonicalised."""
    import lxml.html
    from lxml import etree

    page = canonical_url(page_url)
    if page is None or not html:
        return None
    # The canonical link lives in <head>: parse that, not a page that may be megabytes long.
    if isinstance(html, bytes):  # noqa: SIM108 - mypy checks each branch with its own type
        end = html.lower().find(b"</head>")
    else:
        end = html.lower().find("</head>")
    if end > 0:
        html = html[:end]
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError, TypeError):
        return None
    candidates: list[str] = []
    for link in doc.iter("link"):
        rels = str(link.get("rel") or "").lower().split()
        href = link.get("href")
        if "canonical" in rels and href:
            candidates.append(str(href))
    for meta in doc.iter("meta"):
        key = str(meta.get("property") or meta.get("name") or "").lower()
        content = meta.get("content")
        if key == "og:url" and content:
            candidates.append(str(content))
    page_is_home = urlsplit(page).path == "/"
    for candidate in candidates:
        found = canonical_url(candidate, base=page)
        if found is None:
            continue
        # CMS templates often point every article's canonical at a home page; that is no
        # identity for the article, whoever's home page it is.
        if urlsplit(found).path == "/" and not urlsplit(found).query and not page_is_home:
            continue
        return found
    return None
