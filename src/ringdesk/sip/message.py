"""SIP requests and responses: parse bytes, build and serialize (RFC 3261 sections 7, 20, 25).

`parse_message` either returns a Request/Response or raises SipParseError naming the response to
send; it raises nothing else on any input (fuzzed in tests/unit/sip).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from .errors import SipParseError
from .uri import (
    NameAddr,
    SipUri,
    Via,
    address_params,
    is_token,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_outside_quotes,
)

SIP_VERSION = "SIP/2.0"
BRANCH_MAGIC = "z9hG4bK"
MAX_MESSAGE = 65535
# Options we implement; a Require naming anything else gets 420 (RFC 3261 8.2.2.3).
SUPPORTED_OPTIONS: frozenset[str] = frozenset()

COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "u": "allow-events",
    "r": "refer-to",
    "b": "referred-by",
    "x": "session-expires",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
    "y": "identity",
}
_SPECIAL_CASE = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "p-asserted-identity": "P-Asserted-Identity",
    "mime-version": "MIME-Version",
}
# Headers whose comma-separated values are separate entries (RFC 3261 7.3.1).
_LIST_HEADERS = frozenset({"via", "contact", "route", "record-route"})
_SINGLE_REQUIRED = ("call-id", "cseq", "from", "to")
# Headers a message may carry once (RFC 3261 7.3.1 and 20): two of them are a 400, not a
# choice (RFC 4475 3.3.8, 3.3.9).
_SINGLE = frozenset({"call-id", "cseq", "from", "to", "max-forwards", "content-length"})
# The methods of the SIP RFCs: any other is one we do not understand (501, RFC 3261 8.2.1),
# these are understood and, where we do not do them, not allowed (405).
KNOWN_METHODS = frozenset(
    {
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    }
)
# Bodies we read as SDP; other types get 415 (RFC 3261 8.2.3, RFC 4475 3.3.6).
SDP_TYPE = "application/sdp"
_SDP_METHODS = frozenset({"INVITE", "UPDATE"})
_REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    600: "Busy Everywhere",
    603: "Decline",
}
_METHOD_RE = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


_CANONICAL: dict[str, str] = {}


def canonical_name(name: str) -> str:
    """The lower-case long form used as the key: compact forms expanded."""
    known = _CANONICAL.get(name)
    if known is not None:
        return known
    key = name.strip().lower()
    key = COMPACT.get(key, key)
    if len(_CANONICAL) < 4096:  # bounded: header names from the network are not trusted
        _CANONICAL[name] = key
    return key


@lru_cache(maxsize=1024)
def display_name(key: str) -> str:
    return _SPECIAL_CASE.get(key) or "-".join(p.capitalize() for p in key.split("-"))


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Unknown")


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


class Headers:
    """An ordered multi-map of header values keyed by canonical (long, lower-case) name."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(k), v) for k, v in items]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get(self, name: str) -> str | None:
        key = canonical_name(name)
        for k, v in self._items:
            if k == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        key = canonical_name(name)
        return [v for k, v in self._items if k == key]

    def tokens(self, name: str) -> list[str]:
        """Comma-separated token lists (Require, Supported, Allow) from every instance."""
        return [t.strip() for v in self.get_all(name) for t in v.split(",") if t.strip()]

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        self._items.insert(0, (canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every instance with one value, kept where the first one was."""
        key = canonical_name(name)
        for i, (k, _) in enumerate(self._items):
            if k == key:
                self._items[i] = (key, value)
                self._items = [kv for j, kv in enumerate(self._items) if j <= i or kv[0] != key]
                return
        self._items.append((key, value))

    def replace_first(self, name: str, value: str) -> None:
        """Change the first instance only (the top Via), keeping the others."""
        key = canonical_name(name)
        for i, (k, _) in enumerate(self._items):
            if k == key:
                self._items[i] = (key, value)
                return
        self._items.append((key, value))

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self._items = [(k, v) for k, v in self._items if k != key]

    def copy(self) -> Headers:
        h = Headers()
        h._items = list(self._items)
        return h


@dataclass(slots=True)
class _Message:
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("cseq") or "")

    @property
    def from_addr(self) -> NameAddr:
        return parse_name_addr(self.headers.get("from") or "")

    @property
    def from_tag(self) -> str | None:
        """The From tag, whatever the URI's scheme (transaction matching needs no more)."""
        return address_params(self.headers.get("from") or "").get("tag")

    @property
    def to_tag(self) -> str | None:
        return address_params(self.headers.get("to") or "").get("tag")

    @property
    def to_addr(self) -> NameAddr:
        return parse_name_addr(self.headers.get("to") or "")

    @property
    def vias(self) -> list[Via]:
        return [parse_via(v) for v in self.headers.get_all("via")]

    @property
    def top_via(self) -> Via:
        return parse_via(self.headers.get("via") or "")

    @property
    def contacts(self) -> list[str]:
        return self.headers.get_all("contact")

    def _serialize(self, start: str) -> bytes:
        lines = [start]
        for k, v in self.headers:
            if k != "content-length":
                lines.append(f"{display_name(k)}: {v}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(slots=True)
class Request(_Message):
    method: str = ""
    uri: SipUri = field(default_factory=lambda: SipUri(host="invalid"))

    def to_bytes(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} {SIP_VERSION}")


@dataclass(slots=True)
class Response(_Message):
    status: int = 200
    reason: str = "OK"

    def to_bytes(self) -> bytes:
        return self._serialize(f"{SIP_VERSION} {self.status} {self.reason}")


Message = Request | Response


@lru_cache(maxsize=8192)
def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10:
        raise SipParseError(400, "Bad CSeq")
    number = int(parts[0])
    if number >= 2**31 or not _METHOD_RE.match(parts[1]):
        raise SipParseError(400, "Bad CSeq")
    return number, parts[1]


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = data.find(sep)
        if idx >= 0:
            return data[:idx], data[idx + len(sep) :]
    return data, b""


def _header_lines(head: str) -> list[str]:
    """Split the header section into logical lines, unfolding continuation lines."""
    lines: list[str] = []
    for raw in head.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t"):
            if not lines:
                raise SipParseError(400, "Folded first line")
            lines[-1] = lines[-1].rstrip() + " " + raw.strip()
        elif raw:
            lines.append(raw)
    return lines


def _parse_headers(lines: list[str]) -> tuple[Headers, str | None]:
    """The headers, and what was wrong with the first unreadable line or the first header
    given twice that may be given once (skipped, so the rest can still address the 400)."""
    headers = Headers()
    bad: str | None = None
    seen: set[str] = set()
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not is_token(name):
            bad = bad or "Bad header line"
            continue
        key = canonical_name(name)
        if key in _SINGLE:
            if key in seen:
                bad = bad or f"More than one {display_name(key)}"
                continue
            seen.add(key)
        value = value.strip()
        if key in _LIST_HEADERS and value != "*":
            for part in split_outside_quotes(value, ","):
                if part.strip():
                    headers.add(key, part.strip())
        else:
            headers.add(key, value)
    return headers, bad


def _body(headers: Headers, rest: bytes, stream: bool) -> bytes:
    cl = headers.get("content-length")
    if cl is None:
        # Over a stream Content-Length is mandatory; over UDP the datagram ends the body.
        if stream and rest:
            raise SipParseError(400, "Missing Content-Length")
        return rest
    cl = cl.strip()
    if not cl.isdigit() or len(cl) > 7:
        raise SipParseError(400, "Bad Content-Length")
    length = int(cl)
    if length > len(rest):
        raise SipParseError(400, "Content-Length larger than body")
    return rest[:length]  # extra bytes after the body are discarded (RFC 3261 18.3)


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one message. Raises SipParseError only; never anything else."""
    try:
        return _parse(data, stream)
    except SipParseError:
        raise
    except Exception as exc:  # a parser bug must still become a 400, never a crash
        raise SipParseError(400, "Malformed message") from exc


def _parse(data: bytes, stream: bool) -> Request | Response:
    if len(data) > MAX_MESSAGE:
        raise SipParseError(513, "Message Too Large")
    data = data.lstrip(b"\r\n")  # keep-alive CRLFs before a message are allowed
    if not data:
        raise SipParseError(400, "Empty message")
    head_bytes, rest = _split_head(data)
    try:
        head = head_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError(400, "Headers are not UTF-8") from None
    if "\x00" in head and not _nul_only_quoted(head):
        raise SipParseError(400, "NUL in headers")
    lines = head.replace("\r\n", "\n").split("\n", 1)
    start = lines[0]
    header_lines = _header_lines(lines[1] if len(lines) > 1 else "")
    if start.startswith("SIP/"):
        return _parse_response(start, header_lines, rest, stream)
    return _parse_request(start, header_lines, rest, stream)


def _nul_only_quoted(head: str) -> bool:
    """True if every NUL is a quoted-pair inside a quoted string, the one place RFC 3261
    allows one (25.1 quoted-pair; RFC 4475 3.1.1.2). Runs only for a head that has a NUL."""
    quoted = False
    i = 0
    while i < len(head):
        c = head[i]
        if quoted and c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "\x00" or c == "\n":
            if c == "\x00":
                return False
            quoted = False  # a quoted string never spans lines (folding is unfolded later)
        i += 1
    return True


def _parse_response(start: str, lines: list[str], rest: bytes, stream: bool) -> Response:
    parts = start.split(" ", 2)
    if len(parts) < 2 or parts[0].upper() != SIP_VERSION:
        raise SipParseError(400, "Bad status line")
    code = parts[1]
    if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
        raise SipParseError(400, "Bad status code")
    headers, bad = _parse_headers(lines)
    if bad:
        raise SipParseError(400, bad)
    for name in ("via", *_SINGLE_REQUIRED):
        if headers.get(name) is None:
            raise SipParseError(400, f"Missing {display_name(name)}")
    resp = Response(
        headers=headers,
        body=_body(headers, rest, stream),
        status=int(code),
        reason=parts[2] if len(parts) > 2 else "",
    )
    resp.cseq  # noqa: B018 - validates
    resp.top_via  # noqa: B018
    return resp


def _parse_request(start: str, lines: list[str], rest: bytes, stream: bool) -> Request:
    # Headers first: a request-line, version, URI or Via error still gets a 400 sent back
    # to where the request came from, with its Via copied as read.
    headers, bad = _parse_headers(lines)
    parts = start.split(" ")
    method = parts[0]
    req = Request(headers=headers, body=b"", method=method)
    if not method or not _METHOD_RE.match(method):
        raise SipParseError(400, "Bad method", request=req)
    if len(parts) != 3 or not parts[1]:
        # Exactly one SP between the three elements (RFC 3261 7.1; RFC 4475 3.1.2.8-10).
        raise SipParseError(400, "Bad request line", request=req)
    _, uri_text, version = parts
    if version.upper() != SIP_VERSION:
        if re.fullmatch(r"SIP/\d+\.\d+", version, re.IGNORECASE):
            raise SipParseError(505, "Version Not Supported", request=req)
        raise SipParseError(400, "Bad version", request=req)
    if not headers.get_all("via"):
        raise SipParseError(400, "Missing Via", request=None)
    try:
        req.uri = parse_uri(uri_text, request_uri=True)
        vias = req.vias  # validates every Via
    except SipParseError as exc:
        raise SipParseError(exc.status, exc.reason, request=req) from None
    if bad:
        raise SipParseError(400, bad, request=req)
    if vias[0].branch == BRANCH_MAGIC:
        # The RFC 3261 cookie and nothing after it: no transaction can be told apart by it
        # (RFC 4475 3.2.1); rejected statelessly.
        raise SipParseError(400, "Bad branch", request=req)
    for name in _SINGLE_REQUIRED:
        if headers.get(name) is None:
            raise SipParseError(400, f"Missing {display_name(name)}", request=req)
    try:
        _number, cseq_method = req.cseq
        address_params(headers.get("from") or "")
        address_params(headers.get("to") or "")
        for contact in headers.get_all("contact"):
            if contact != "*":
                address_params(contact)
    except SipParseError as exc:
        raise SipParseError(400, exc.reason, request=req) from None
    if cseq_method != method:
        if method not in KNOWN_METHODS:
            # An unknown method whose CSeq names another: 501 is the better answer (RFC 4475
            # 3.1.2.18); a known one that disagrees with its CSeq is a 400 (3.1.2.17).
            raise SipParseError(501, "Not Implemented", request=req)
        raise SipParseError(400, "CSeq method does not match", request=req)
    try:
        req.body = _body(headers, rest, stream)
    except SipParseError as exc:
        raise SipParseError(exc.status, exc.reason, request=req) from None
    mf = headers.get("max-forwards")
    if mf is not None:
        mf = mf.strip()
        # Leading zeros are allowed (RFC 4475 3.1.1.1: "0068" is 68).
        if not mf.isdigit() or len(mf) > 10 or int(mf) > 255:
            raise SipParseError(400, "Bad Max-Forwards", request=req)
        if int(mf) == 0 and method not in ("OPTIONS", "ACK", "REGISTER"):
            raise SipParseError(483, "Too Many Hops", request=req)
    if method not in ("ACK", "CANCEL"):
        unsupported = [t for t in headers.tokens("require") if t.lower() not in SUPPORTED_OPTIONS]
        if unsupported:
            raise SipParseError(
                420,
                "Bad Extension",
                request=req,
                extra_headers=(("Unsupported", ", ".join(unsupported)),),
            )
    if method in _SDP_METHODS:
        _check_sdp_request(req)
    return req


def _media_type(value: str) -> str:
    return value.partition(";")[0].strip().lower()


def _check_sdp_request(req: Request) -> None:
    """INVITE and UPDATE: we read SDP and only SDP (RFC 3261 8.2.3, 21.4.7; RFC 4475 3.3.6,
    3.3.15): a body of another type or coding is a 415 naming what we accept, and an Accept
    that rules out an SDP answer is a 406."""
    encoding = content_type = None
    accept: list[str] = []
    for key, value in req.headers:  # one pass for the three headers this needs
        if key == "content-type":
            content_type = value
        elif key == "accept":
            accept.append(value)
        elif key == "content-encoding":
            encoding = value
    if req.body:
        if encoding is not None and encoding.strip().lower() not in ("", "identity"):
            raise SipParseError(
                415,
                "Unsupported Media Type",
                request=req,
                extra_headers=(("Accept-Encoding", "identity"), ("Accept", SDP_TYPE)),
            )
        if content_type is not None and _media_type(content_type) != SDP_TYPE:
            raise SipParseError(
                415, "Unsupported Media Type", request=req, extra_headers=(("Accept", SDP_TYPE),)
            )
    if accept and req.method == "INVITE":
        ranges = {_media_type(r) for value in accept for r in value.split(",")}
        if ranges and not ranges & {SDP_TYPE, "application/*", "*/*", ""}:
            raise SipParseError(
                406,
                "Not Acceptable",
                request=req,
                extra_headers=(("Warning", '399 ringdesk "Only application/sdp answers"'),),
            )


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response copying Via, From, To, Call-ID and CSeq (RFC 3261 8.2.6), with a To tag
    added when the request has none and one is given (never on 100 Trying)."""
    h = Headers()
    for via in request.headers.get_all("via"):
        h.add("via", via)
    for name in ("from", "to", "call-id", "cseq"):
        value = request.headers.get(name)
        if value is not None:
            h.add(name, value)
    if to_tag and status > 100:
        to = request.headers.get("to")
        if to is not None:
            try:
                params: dict[str, str | None] | None = address_params(to)
            except SipParseError:
                params = None  # a To we cannot read is copied as it came
            if params is not None and "tag" not in params:
                try:
                    h.set("to", str(parse_name_addr(to).with_tag(to_tag)))
                except SipParseError:  # another scheme (RFC 4475 3.3.4): append the tag
                    h.set("to", f"{to.strip()};tag={to_tag}")
    for k, v in headers:
        h.add(k, v)
    return Response(headers=h, body=body, status=status, reason=reason or reason_phrase(status))


def max_forwards(request: Request) -> int:
    value = request.headers.get("max-forwards")
    return int(value) if value and value.strip().isdigit() else 70
