"""SIP URIs, name-addr values and Via values (RFC 3261 section 19.1, 20, 25.1).

Parsers raise SipParseError with the response a UAS should send, so a caller never has to
guess what went wrong with a header it could not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from .errors import SipParseError

_TOKEN_RE = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_HOST_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)$")
# RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
# Any other absoluteURI (RFC 3261 25.1), read for its syntax only: no LWS, quotes or brackets.
_OTHER_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"]+$")
_ESCAPED_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
UNSUPPORTED_SCHEME = "Unsupported URI Scheme"


def is_token(text: str) -> bool:
    return bool(_TOKEN_RE.match(text))


def _unescape_one(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def normalize_escapes(text: str) -> str:
    """`%HH` of an unreserved character becomes the character, every other escape stays (in
    upper case): sip:%75se%72@h and sip:user@h are one URI (RFC 3261 19.1.4), while %00, %40
    or %3B keep their meaning, and nothing is unescaped twice (RFC 4475 3.1.1.3, 3.1.1.4)."""
    if "%" not in text:
        return text
    return _ESCAPED_RE.sub(_unescape_one, text)


def _split_params(text: str) -> dict[str, str | None]:
    """Parse ';a=b;c' into {"a": "b", "c": None}; names are case-insensitive."""
    params: dict[str, str | None] = {}
    for part in split_outside_quotes(text, ";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not name:
            raise SipParseError(400, "Bad parameter")
        params[name] = value.strip() if sep else None
    return params


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split on `sep` except inside double quotes and angle brackets."""
    if '"' not in text and "<" not in text:
        return text.split(sep)  # the common case, without the per-character walk
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def split_host_port(text: str) -> tuple[str, int | None]:
    """'host', 'host:5060', '[::1]:5060' -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(400, "Bad host")
        host, rest = text[: end + 1], text[end + 1 :]
    else:
        host, _, port_text = text.partition(":")
        rest = ":" + port_text if _ else ""
    if not host or not _HOST_RE.match(host):
        raise SipParseError(400, "Bad host")
    if not rest:
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit() or len(rest) > 6:
        raise SipParseError(400, "Bad port")
    port = int(rest[1:])
    if not 0 < port < 65536:
        raise SipParseError(400, "Bad port")
    return host, port


@dataclass(frozen=True, slots=True)
class SipUri:
    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str = ""  # the '?a=b' part kept verbatim (we never act on it)
    password: str | None = None

    def __str__(self) -> str:
        out = self.scheme + ":"
        if self.user is not None:
            out += self.user
            if self.password is not None:
                out += ":" + self.password
            out += "@"
        out += self.host
        if self.port is not None:
            out += f":{self.port}"
        out += _format_params(self.params)
        if self.headers:
            out += "?" + self.headers
        return out

    def with_params(self, **params: str | None) -> SipUri:
        merged = dict(self.params)
        merged.update(params)
        return replace(self, params=merged)

    @property
    def host_port(self) -> tuple[str, int]:
        default = 5061 if self.scheme == "sips" else 5060
        return self.host.strip("[]"), self.port or default


# The parsers below are pure and their results immutable in use (the `with_*` helpers copy), so
# they are memoized: a message's Via, From and To are read many times on its way through the
# transaction and dialog layers, and the same values recur across retransmissions.
_CACHE = 8192


@lru_cache(maxsize=_CACHE)
def parse_uri(text: str, *, request_uri: bool = False) -> SipUri:
    """Parse a sip: or sips: URI. Other schemes are 416 in a Request-URI, 400 elsewhere; a
    Request-URI may not carry headers (RFC 3261 19.1.1, RFC 4475 3.1.2.11)."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.match(scheme):
        raise SipParseError(400, "Bad URI")
    scheme = scheme.lower()
    if scheme not in ("sip", "sips"):
        raise SipParseError(416 if request_uri else 400, UNSUPPORTED_SCHEME)
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        # The userinfo ends at the last "@": user and password may hold "?", ";" and "/"
        # (RFC 4475 3.1.1.2), and an "@" anywhere else must be escaped.
        userinfo, _, rest = rest.rpartition("@")
        user, pcolon, pw = userinfo.partition(":")
        password = pw if pcolon else None
        if not user or any(c in userinfo for c in ' \t<>"\r\n'):
            raise SipParseError(400, "Bad URI user")
        user = normalize_escapes(user)
    rest, qmark, headers = rest.partition("?")
    if qmark and request_uri:
        raise SipParseError(400, "Headers in Request-URI")
    hostport, _, param_text = rest.partition(";")
    host, port = split_host_port(hostport)
    params = _split_params(normalize_escapes(param_text)) if param_text else {}
    return SipUri(
        host=host.lower(),
        user=user,
        port=port,
        scheme=scheme,
        params=params,
        headers=headers if qmark else "",
        password=password,
    )


def _check_other_uri(text: str) -> None:
    """A URI of another scheme where RFC 3261 allows any absoluteURI (From, To, Contact):
    well formed or 400; what it means is for whoever reads it (RFC 4475 3.3.4)."""
    if not _OTHER_URI_RE.match(text):
        raise SipParseError(400, "Bad URI")


def quote_display(display: str) -> str:
    """A display name as a quoted-string: backslash before '"', '\\' and control characters."""
    if '"' in display or "\\" in display or not display.isprintable():
        display = "".join(
            "\\" + c if c in '"\\' or (c < " " or c == "\x7f") else c for c in display
        )
    return f'"{display}"'


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters."""

    uri: SipUri
    display: str | None = None  # unquoted and unescaped: what a person reads
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        merged = dict(self.params)
        merged["tag"] = tag
        return replace(self, params=merged)

    def __str__(self) -> str:
        display = quote_display(self.display) + " " if self.display else ""
        return f"{display}<{self.uri}>{_format_params(self.params)}"


def _quoted_string(text: str) -> tuple[str, int]:
    """`text` starts with '"': the unescaped content and the index after the closing quote."""
    end = text.find('"', 1)
    if end > 0 and "\\" not in text[1:end]:
        return text[1:end], end + 1  # the common case: no quoted-pair
    out: list[str] = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] not in "\r\n":
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise SipParseError(400, "Unterminated quoted string")


def _split_address(text: str) -> tuple[str | None, str, str]:
    """A name-addr or addr-spec (RFC 3261 20.10) cut into display name, URI and header
    parameters, with its syntax checked: a quoted display name must end (RFC 4475 3.1.2.6),
    an unquoted one is tokens only (3.1.2.15), no LWS inside the brackets (3.1.2.14), and a
    URI with '?' or ',' needs the brackets (3.1.2.13)."""
    text = text.strip()
    if not text:
        raise SipParseError(400, "Empty address")
    if text[0] == '"':
        display: str | None
        display, end = _quoted_string(text)
        rest = text[end:].lstrip()
        if not rest.startswith("<"):
            raise SipParseError(400, "Bad address")
    else:
        lt = text.find("<")
        if lt < 0:
            # addr-spec form: parameters after the URI belong to the header, not the URI.
            uri_text, _, param_text = text.partition(";")
            uri_text = uri_text.rstrip()
            if any(c in uri_text for c in ' \t?,"'):
                raise SipParseError(400, "Bad address")
            return None, uri_text, param_text
        display = text[:lt].strip()
        if display and not all(is_token(word) for word in display.split()):
            raise SipParseError(400, "Bad display name")
        rest = text[lt:]
    end = rest.find(">")
    if end < 0:
        raise SipParseError(400, "Bad address")
    uri_text = rest[1:end]
    if not uri_text or uri_text != uri_text.strip():
        raise SipParseError(400, "Spaces in addr-spec")
    param_text = rest[end + 1 :].strip()
    if param_text and not param_text.startswith(";"):
        raise SipParseError(400, "Bad address parameters")
    return display or None, uri_text, param_text


@lru_cache(maxsize=_CACHE)
def parse_name_addr(text: str) -> NameAddr:
    """A name-addr or addr-spec with a sip: or sips: URI (400 for any other scheme)."""
    display, uri_text, param_text = _split_address(text)
    uri = parse_uri(uri_text)
    params = _split_params(param_text) if param_text else {}
    return NameAddr(uri=uri, display=display, params=params)


def address_params(text: str) -> dict[str, str | None]:
    """The header parameters (the tag) of a From, To or Contact value whose URI may be of
    any scheme; raises SipParseError when the value is malformed. Used where only the syntax
    and the tag matter: the parser's checks and transaction matching. A SIP address is read
    by parse_name_addr (and so cached for whoever reads it next); the result is not to be
    changed."""
    try:
        return parse_name_addr(text).params
    except SipParseError as exc:
        if exc.reason != UNSUPPORTED_SCHEME:
            raise
    _display, uri_text, param_text = _split_address(text)
    _check_other_uri(uri_text)
    return _split_params(param_text) if param_text else {}


@dataclass(frozen=True, slots=True)
class Via:
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int]:
        return self.host, self.port or 5060

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{_format_params(self.params)}"


@lru_cache(maxsize=_CACHE)
def parse_via(text: str) -> Via:
    text = text.strip()
    proto, _, rest = text.partition(" ")
    parts = [p.strip() for p in proto.split("/")]
    # "SIP / 2.0 / UDP host" is legal (LWS around the slashes): fold it back.
    while len(parts) < 3 or not parts[2]:
        nxt, _, rest = rest.strip().partition(" ")
        if not nxt:
            raise SipParseError(400, "Bad Via")
        parts = [p.strip() for p in "/".join([*parts, nxt]).replace("//", "/").split("/")]
        parts = [p for p in parts if p]
    if len(parts) != 3 or parts[0].upper() != "SIP" or parts[1] != "2.0":
        raise SipParseError(400, "Bad Via")
    transport = parts[2].upper()
    if not is_token(transport):
        raise SipParseError(400, "Bad Via transport")
    hostport, _, param_text = rest.strip().partition(";")
    host, port = split_host_port(hostport)
    return Via(transport=transport, host=host, port=port, params=_split_params(param_text))
