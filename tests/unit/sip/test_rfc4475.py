"""RFC 4475, the SIP torture test messages: one case per message, saying what the RFC expects.

The 49 messages are in rfc4475/, byte for byte as the RFC's Appendix A archive has them (named
by its tags; the archive's extra test.dat, which no section refers to, is left out). Each is
checked twice: by the parser (the fields the RFC points at, or the SipParseError and the
response it names), and sent as it is, over loopback, to a running switch (what comes back).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from ringdesk.sip.errors import SipParseError
from ringdesk.sip.message import (
    KNOWN_METHODS,
    Request,
    Response,
    max_forwards,
    parse_message,
)
from ringdesk.sip.registrar import Registrar
from ringdesk.sip.uri import address_params, parse_name_addr, parse_uri
from ringdesk.switch import Switch
from ringdesk.switch.lookup import InboundRoute
from ringdesk.switch.transport import error_response

from ..switch.conftest import switch_rig
from ..switch.harness import Events, FakeDirectory, Peer, answer_auth

__all__ = ["switch_rig"]  # the loopback switch fixture, used here too

VECTORS = Path(__file__).parent / "rfc4475"


def load(name: str) -> bytes:
    return (VECTORS / f"{name}.dat").read_bytes()


def request(name: str, stream: bool = False) -> Request:
    msg = parse_message(load(name), stream=stream)
    assert isinstance(msg, Request)
    return msg


def response(name: str) -> Response:
    msg = parse_message(load(name))
    assert isinstance(msg, Response)
    return msg


def refused(name: str, stream: bool = False) -> SipParseError:
    with pytest.raises(SipParseError) as info:
        parse_message(load(name), stream=stream)
    return info.value


# ---- 3.1.1 valid messages: the parser reads the fields the RFC points at -------------------


def check_wsinv() -> None:
    """3.1.1.1: folding, LWS everywhere, escaped quotes, empty Subject, mixed compact and long
    names, unknown headers and parameters, leading zeros in Max-Forwards and CSeq."""
    req = request("wsinv")
    assert req.method == "INVITE"
    assert (req.uri.user, req.uri.host) == ("vivekg", "chair-dnrc.example.com")
    assert req.uri.params == {"unknownparam": None}
    assert req.to_addr.uri.user == "vivekg" and req.to_addr.tag == "1918181833n"
    frm = req.from_addr
    assert frm.display == 'J Rosenberg \\"'  # the quoted-string "J Rosenberg \\\"" unescaped
    assert frm.tag == "98asjd8" and frm.uri.user == "jdrosen"
    assert parse_name_addr(str(frm)) == frm  # written back, it reads the same
    assert max_forwards(req) == 68
    assert req.cseq == (9, "INVITE")
    assert req.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert [(v.transport, v.host, v.branch) for v in req.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert req.headers.get("subject") == ""
    assert req.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert req.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    route = parse_name_addr(req.headers.get("route") or "")
    assert route.uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    (contact,) = req.contacts
    addr = parse_name_addr(contact)
    assert addr.display == 'Quoted string ""'
    assert addr.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert req.headers.get("content-type") == "application/sdp"
    assert len(req.body) == 150 and req.body.startswith(b"v=0\r\n")


def check_intmeth() -> None:
    """3.1.1.2: every token character in the method, the branch, the From display name and
    parameters; an escaped NUL in a quoted string; UTF-8 in values."""
    req = request("intmeth")
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    assert req.method == method and method not in KNOWN_METHODS
    assert req.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert req.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert req.uri.host == "example.com" and req.uri.headers == ""
    assert req.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    to = req.to_addr
    assert to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert to.uri.user == req.uri.user
    assert parse_name_addr(str(to)) == to  # the control characters go back as quoted-pairs
    frm = req.from_addr
    assert frm.display == "token1~` token2'+_ token3*%!.-"
    assert frm.tag == "_token~1'+`*%!-."
    assert frm.params["fromparam''~+*_!.-%"] == '"работающий"'
    assert req.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert req.cseq == (139122385, method)
    assert max_forwards(req) == 255
    assert req.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    assert req.body == b""


def check_esc01() -> None:
    """3.1.1.3: %HH escapes in user parts and URI parameters mean the character; not
    recursively."""
    req = request("esc01")
    assert req.uri.host == "example.net"
    assert unquote(req.uri.user or "") == "sips:user@example.com"
    assert req.to_addr.uri == parse_uri("sip:user@example.com")  # %75se%72 is "user"
    assert unquote(req.from_addr.uri.user or "") == "I have spaces"
    contact = parse_name_addr(req.contacts[0]).uri
    assert contact.user == "caller"
    assert contact.params == {"lr": None, "name": "value%2541"}
    assert unquote(contact.params["name"] or "") == "value%41"  # not "valueA"


def check_escnull() -> None:
    """3.1.1.4: %00 in user parts; the AOR is not cut short and the two contacts differ."""
    req = request("escnull")
    assert req.to_addr.uri.user == "null-%00-null"
    assert unquote(req.to_addr.uri.user or "") == "null-\x00-null"
    users = [parse_name_addr(c).uri.user for c in req.contacts]
    assert users == ["%00", "%00%00"]
    registrar = Registrar()
    result = registrar.register("null", req, ("127.0.0.1", 5060), "udp", now=0.0)
    assert result.status == 200
    assert sorted(b.uri.user or "" for b in registrar.lookup("null", 0.0)) == ["%00", "%00%00"]


def check_esc02() -> None:
    """3.1.1.5: % escapes nothing outside URIs: an unknown method, a display name %Z%45, and a
    C%6Fntact header that is not a Contact."""
    req = request("esc02")
    assert req.method == "RE%47IST%45R" and req.method not in KNOWN_METHODS
    assert req.to_addr.display == "%Z%45" and req.from_addr.display == "%Z%45"
    assert req.top_via.branch == "z9hG4bK209%fzsnel234"
    assert [parse_name_addr(c).uri.user for c in req.contacts] == ["alias1", "alias3"]
    assert req.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def check_lwsdisp() -> None:
    """3.1.1.6: no LWS between the display name and '<'."""
    frm = request("lwsdisp").from_addr
    assert (frm.display, frm.uri.user, frm.tag) == ("caller", "caller", "323")


def check_longreq() -> None:
    """3.1.1.7: long display names, parameters, tag and Call-ID, and 34 Vias."""
    req = request("longreq")
    to = req.to_addr
    assert to.display is not None and to.display.startswith("I have a user name of extreme")
    assert to.uri.port == 6000 and len(to.uri.params) == 3
    assert to.uri.params["unknownparam1"] == "very" + "long" * 20 + "value"
    assert len(req.from_addr.tag or "") == 155
    assert len(req.call_id) == 141
    assert len(req.vias) == 34 and req.vias[0].host == "sip33.example.com"
    assert len(req.body) == 150


def check_dblreq() -> None:
    """3.1.1.8: a REGISTER whose datagram also carries an INVITE after the (empty) body: the
    REGISTER is the message, the rest is ignored."""
    data = load("dblreq")
    assert b"INVITE sip:joe@example.com" in data
    req = request("dblreq")
    assert req.method == "REGISTER" and req.cseq == (8, "REGISTER")
    assert req.body == b""
    assert b"INVITE" not in req.to_bytes()


def check_semiuri() -> None:
    """3.1.1.9: a ';' in the user part: the user is "user;par=u@example.net", no parameters."""
    req = request("semiuri")
    assert unquote(req.uri.user or "") == "user;par=u@example.net"
    assert req.uri.host == "example.com" and req.uri.params == {}
    assert req.headers.tokens("accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


def check_transports() -> None:
    """3.1.1.10: Vias of every transport, an unknown one included."""
    req = request("transports")
    assert [v.transport for v in req.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def check_mpart01() -> None:
    """3.1.1.11: a multipart body whose second part is binary with NULs: framed by
    Content-Length, kept byte for byte."""
    req = request("mpart01")
    assert req.method == "MESSAGE"
    assert len(req.body) == 553 and b"\x00" in req.body
    content_type = req.headers.get("content-type") or ""
    assert content_type == "multipart/mixed;boundary=7a9cbec02ceef655"
    mime = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + req.body,
        policy=email.policy.compat32,
    )
    parts = mime.get_payload()
    assert isinstance(parts, list)
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/octet-stream"]
    assert req.body.endswith(b"--7a9cbec02ceef655--\r\n")


def check_unreason() -> None:
    """3.1.1.12: a UTF-8 reason phrase."""
    resp = response("unreason")
    assert resp.status == 200
    assert resp.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    assert len(resp.body) == 154


def check_noreason() -> None:
    """3.1.1.13: no reason phrase at all (the SP after the code is there)."""
    resp = response("noreason")
    assert (resp.status, resp.reason) == (100, "")


VALID = {
    "wsinv": check_wsinv,
    "intmeth": check_intmeth,
    "esc01": check_esc01,
    "escnull": check_escnull,
    "esc02": check_esc02,
    "lwsdisp": check_lwsdisp,
    "longreq": check_longreq,
    "dblreq": check_dblreq,
    "semiuri": check_semiuri,
    "transports": check_transports,
    "mpart01": check_mpart01,
    "unreason": check_unreason,
    "noreason": check_noreason,
}


@pytest.mark.parametrize("name", VALID)
def test_valid_message_is_read_as_the_rfc_says(name: str) -> None:
    VALID[name]()


@pytest.mark.parametrize("name", VALID)
def test_valid_message_survives_a_round_trip(name: str) -> None:
    msg = parse_message(load(name))
    again = parse_message(msg.to_bytes())
    # to_bytes writes Content-Length last, from the body; every other header as it was read
    kept = [(k, v) for k, v in msg.headers if k != "content-length"]
    assert [(k, v) for k, v in again.headers if k != "content-length"] == kept
    assert again.body == msg.body
    assert again.headers.get("content-length") == str(len(msg.body))


# ---- messages the parser refuses: the status it names, and whether a response goes out -----


@dataclass(frozen=True)
class Refusal:
    section: str
    status: int
    reason: str
    answered: bool = True  # False: a response, dropped (nobody to answer)
    extra: tuple[tuple[str, str], ...] = ()


REFUSED = {
    # 3.1.2 invalid messages
    "badinv01": Refusal("3.1.2.1", 400, "Bad Via"),
    "clerr": Refusal("3.1.2.2", 400, "Content-Length larger than body"),
    "ncl": Refusal("3.1.2.3", 400, "Bad Content-Length"),
    "scalar02": Refusal("3.1.2.4", 400, "Bad CSeq"),
    "scalarlg": Refusal("3.1.2.5", 400, "Bad CSeq", answered=False),
    "quotbal": Refusal("3.1.2.6", 400, "Unterminated quoted string"),
    "ltgtruri": Refusal("3.1.2.7", 400, "Bad URI"),
    "lwsruri": Refusal("3.1.2.8", 400, "Bad request line"),
    "lwsstart": Refusal("3.1.2.9", 400, "Bad request line"),
    "trws": Refusal("3.1.2.10", 400, "Bad request line"),
    "escruri": Refusal("3.1.2.11", 400, "Headers in Request-URI"),
    "regbadct": Refusal("3.1.2.13", 400, "Bad address"),
    "badaspec": Refusal("3.1.2.14", 400, "Spaces in addr-spec"),
    "baddn": Refusal("3.1.2.15", 400, "Bad display name"),
    "badvers": Refusal("3.1.2.16", 505, "Version Not Supported"),
    "mismatch01": Refusal("3.1.2.17", 400, "CSeq method does not match"),
    "mismatch02": Refusal("3.1.2.18", 501, "Not Implemented"),
    "bigcode": Refusal("3.1.2.19", 400, "Bad status code", answered=False),
    # 3.2 transaction layer
    "badbranch": Refusal("3.2.1", 400, "Bad branch"),
    # 3.3 application layer, where the answer needs nothing but the message itself
    "insuf": Refusal("3.3.1", 400, "Missing Call-ID"),
    "unkscm": Refusal("3.3.2", 416, "Unsupported URI Scheme"),
    "novelsc": Refusal("3.3.3", 416, "Unsupported URI Scheme"),
    "bext01": Refusal(
        "3.3.5",
        420,
        "Bad Extension",
        extra=(("Unsupported", "nothingSupportsThis, nothingSupportsThisEither"),),
    ),
    "invut": Refusal(
        "3.3.6", 415, "Unsupported Media Type", extra=(("Accept", "application/sdp"),)
    ),
    "multi01": Refusal("3.3.8", 400, "More than one CSeq"),
    "mcl01": Refusal("3.3.9", 400, "More than one Content-Length"),
    "sdp01": Refusal(
        "3.3.15",
        406,
        "Not Acceptable",
        extra=(("Warning", '399 ringdesk "Only application/sdp answers"'),),
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_refused_message_names_the_response_the_rfc_asks_for(name: str) -> None:
    want = REFUSED[name]
    err = refused(name)
    assert (err.status, err.reason) == (want.status, want.reason)
    resp = error_response(err)
    if not want.answered:
        assert resp is None
        return
    assert resp is not None and resp.status == want.status
    assert resp.headers.get_all("via") == err.request.headers.get_all("via")  # type: ignore[union-attr]
    for header, value in want.extra:
        assert resp.headers.get(header) == value
    assert readable_to_has_tag(resp)


def readable_to_has_tag(resp: Response) -> bool:
    """A final response carries a To tag, where the request's To could be read at all."""
    try:
        return address_params(resp.headers.get("to") or "").get("tag") is not None
    except SipParseError:
        return True  # the request's To was the malformed part; it is copied as it was


def test_clerr_over_tcp_is_not_an_error_but_an_unfinished_message() -> None:
    """3.1.2.2 over a stream: the transport keeps reading; once the body is complete the
    message parses."""
    data = load("clerr")
    body = data.partition(b"\r\n\r\n")[2]
    whole = data + b"x" * (9999 - len(body))
    req = parse_message(whole, stream=True)
    assert isinstance(req, Request) and len(req.body) == 9999


def test_baddate_is_accepted_because_we_never_read_date() -> None:
    """3.1.2.12: a Date in EST is invalid, but an element that does not use Date should not
    reject the request for it: we do not, and keep it as written."""
    req = request("baddate")
    assert req.headers.get("date") == "Fri, 01 Jan 2010 16:00:00 EST"
    assert len(req.body) == 150


# ---- 3.3 and 3.4: well formed; what they mean is for the layers above ----------------------


def test_unksm2_other_schemes_in_to_from_contact_are_well_formed() -> None:
    """3.3.4: isbn:, http: and name: URIs in To, From and Contact parse; reading To as a SIP
    address is what fails (the registrar's 400, tested through the switch below)."""
    req = request("unksm2")
    assert req.from_tag == "3234233" and req.to_tag is None
    assert address_params(req.contacts[0]) == {}
    with pytest.raises(SipParseError) as info:
        req.to_addr  # noqa: B018
    assert info.value.status == 400


def test_regaut01_unknown_authorization_scheme_is_kept_verbatim() -> None:
    req = request("regaut01")
    assert req.headers.get("authorization") == "NoOneKnowsThisScheme opaque-data=here"


def test_bcast_response_with_a_broadcast_via_parses() -> None:
    resp = response("bcast")
    assert [v.host for v in resp.vias] == ["192.0.2.198", "255.255.255.255"]


def test_zeromf_options_with_max_forwards_zero_parses() -> None:
    assert max_forwards(request("zeromf")) == 0


def test_cparam01_the_unknown_parameter_is_the_contacts_not_the_uris() -> None:
    addr = parse_name_addr(request("cparam01").contacts[0])
    assert addr.params == {"unknownparam": None} and addr.uri.params == {}
    assert addr.uri.user == "+19725552222"


def test_cparam02_the_unknown_parameter_is_the_uris() -> None:
    addr = parse_name_addr(request("cparam02").contacts[0])
    assert addr.uri.params == {"unknownparam": None} and addr.params == {}


def test_regescrt_the_contact_keeps_its_escaped_header_but_never_in_a_request_uri() -> None:
    req = request("regescrt")
    registrar = Registrar()
    result = registrar.register("user", req, ("127.0.0.1", 5060), "udp", now=0.0)
    assert result.status == 200
    assert result.headers == [
        ("Contact", "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600")
    ]
    (binding,) = registrar.lookup("user", 0.0)
    assert binding.target == parse_uri("sip:user@example.com")  # what an INVITE goes to


def test_inv2543_rfc_2543_syntax_is_accepted_over_udp() -> None:
    """3.4.1: no branch, no From tag, no Content-Length (the datagram ends the body), no
    Max-Forwards."""
    req = request("inv2543")
    assert req.top_via.branch is None
    assert req.from_addr.tag is None
    assert max_forwards(req) == 70
    assert len(req.body) == 105 and req.body.startswith(b"v=0")
    # Over a stream Content-Length is mandatory (RFC 3261 18.3): there it is a 400.
    assert refused("inv2543", stream=True).status == 400


def test_every_message_of_the_rfc_has_a_case() -> None:
    others = {
        "baddate",
        "unksm2",
        "regaut01",
        "bcast",
        "zeromf",
        "cparam01",
        "cparam02",
        "regescrt",
        "inv2543",
    }
    files = {p.stem for p in VECTORS.glob("*.dat")}
    assert len(files) == 49
    assert files == set(VALID) | set(REFUSED) | others
    assert set(SWITCH) == files


# ---- the running switch: each message as it is, over loopback UDP -------------------------

Rig = tuple[Switch, FakeDirectory, Events]


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: nothing comes back
    headers: tuple[tuple[str, str], ...] = ()


ALLOW_LIST = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE"
SWITCH = {
    # valid: processed (what our B2BUA answers each of them)
    "wsinv": Answer(481),  # To has a tag: a request in a dialog we do not have
    "intmeth": Answer(501, (("Allow", ALLOW_LIST),)),  # an endpoint lists what it does
    "esc01": Answer(404),  # no such number: routed, not refused
    "escnull": Answer(401),  # a REGISTER: challenged
    "esc02": Answer(501, (("Allow", ALLOW_LIST),)),
    "lwsdisp": Answer(200),
    "longreq": Answer(404),
    "dblreq": Answer(401),
    "semiuri": Answer(200),
    "transports": Answer(200),
    "mpart01": Answer(405, (("Allow", ALLOW_LIST),)),  # MESSAGE is known, not done
    "unreason": Answer(None),
    "noreason": Answer(None),
    # invalid
    "badinv01": Answer(400),
    "clerr": Answer(400),
    "ncl": Answer(400),
    "scalar02": Answer(400),
    "scalarlg": Answer(None),
    "quotbal": Answer(400),
    "ltgtruri": Answer(400),
    "lwsruri": Answer(400),
    "lwsstart": Answer(400),
    "trws": Answer(400),
    "escruri": Answer(400),
    "baddate": Answer(404),  # processed like any INVITE to an unknown number
    "regbadct": Answer(400),
    "badaspec": Answer(400),
    "baddn": Answer(400),
    "badvers": Answer(505),
    "mismatch01": Answer(400),
    "mismatch02": Answer(501),
    "bigcode": Answer(None),
    "badbranch": Answer(400),
    # application layer
    "insuf": Answer(400),
    "unkscm": Answer(416),
    "novelsc": Answer(416),
    "unksm2": Answer(400),  # the registrar: To must be a SIP URI
    "bext01": Answer(420, (("Unsupported", "nothingSupportsThis, nothingSupportsThisEither"),)),
    "invut": Answer(415, (("Accept", "application/sdp"),)),
    "regaut01": Answer(401),
    "multi01": Answer(400),
    "mcl01": Answer(400),
    "bcast": Answer(None),
    "zeromf": Answer(200),  # OPTIONS to an endpoint: answered as if Max-Forwards were > 0
    "cparam01": Answer(401),
    "cparam02": Answer(401),
    "regescrt": Answer(401),
    "sdp01": Answer(406),
    "inv2543": Answer(404),
}


@pytest.mark.parametrize("name", sorted(SWITCH))
async def test_the_switch_answers_each_message_as_the_rfc_says(switch_rig: Rig, name: str) -> None:
    sw, _directory, events = switch_rig
    want = SWITCH[name]
    peer = await Peer().open(("127.0.0.1", sw.local_port))
    try:
        peer.send_raw(load(name))
        got = [Raw(d) for d in await peer.quiet(0.4)]
    finally:
        peer.close()
    if want.status is None:
        assert got == []
        assert events.items == []
        return
    finals = [m for m in got if m.status >= 200]
    assert [m.status for m in finals] == [want.status]  # one answer, the right one
    (resp,) = finals
    for header, value in want.headers:
        assert resp.get(header) == value
    if resp.status == 401:
        assert resp.get("www-authenticate").startswith("Digest ")
    to = resp.get("to")
    try:
        tagged = address_params(to).get("tag") is not None
    except SipParseError:
        tagged = to == request_to(name)  # the malformed To comes back as it was
    assert tagged


def request_to(name: str) -> str:
    return Raw(load(name)).get("to")


class Raw:
    """A message as its lines say, without our parser: our answer to a malformed request
    copies its malformed parts (a Via of SIP/7.0, a CSeq too large), which no parser takes."""

    def __init__(self, data: bytes) -> None:
        head = data.partition(b"\r\n\r\n")[0].decode("utf-8", "replace").split("\r\n")
        first = head[0].split(" ", 2)
        self.status = int(first[1]) if first[0] == "SIP/2.0" else 0
        self.lines = head[1:]

    def get(self, name: str) -> str:
        for line in self.lines:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return ""


async def test_bcast_is_dropped_and_nothing_goes_to_the_broadcast_address(
    switch_rig: Rig,
) -> None:
    """3.3.10: a 200 whose second Via is 255.255.255.255: dropped, nothing sent anywhere."""
    sw, _directory, events = switch_rig
    sent: list[tuple[object, object]] = []
    transport = sw.stack.transport
    real_send = transport.send

    def spy(msg: Request | Response, dest: tuple[str, int], tp: str = "udp") -> None:
        sent.append((msg, dest))
        real_send(msg, dest, tp)

    transport.send = spy  # type: ignore[method-assign]
    peer = await Peer().open(("127.0.0.1", sw.local_port))
    try:
        peer.send_raw(load("bcast"))
        assert await peer.quiet(0.4) == []
    finally:
        peer.close()
    assert sent == [] and events.items == []


async def test_inv2543_reaches_a_number_without_branch_from_tag_or_max_forwards(
    switch_rig: Rig,
) -> None:
    """3.4.1 all the way: routed to a number, the call is taken (100 Trying, the caller is
    announced), and a retransmission is matched to the same transaction by RFC 2543 rules."""
    from ringdesk.core.telephony import CallArrived

    sw, directory, events = switch_rig
    directory.routes["UserB"] = InboundRoute(1, True)
    peer = await Peer().open(("127.0.0.1", sw.local_port))
    try:
        peer.send_raw(load("inv2543"))
        trying = await peer.expect_response(100)
        assert trying.call_id == "inv2543.1717@ift.client.example.com"
        arrived = await events.wait_for(CallArrived)
        assert isinstance(arrived, CallArrived)
        peer.send_raw(load("inv2543"))  # the same INVITE again: no second call
        await asyncio.sleep(0.3)
        assert not [e for e in events.items if isinstance(e, CallArrived)]
    finally:
        peer.close()


@pytest.mark.parametrize(
    ("name", "contact"),
    [
        # 3.3.12: unknownparam is the contact's, so not in the binding's URI
        ("cparam01", "<sip:+19725552222@gw1.example.net>;expires=3600"),
        # 3.3.13: unknownparam is the URI's, and the binding keeps it
        ("cparam02", "<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"),
        # 3.3.14: the escaped header stays in the binding's URI
        ("regescrt", "<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600"),
    ],
)
async def test_register_contacts_succeed_as_the_rfc_says(
    switch_rig: Rig, name: str, contact: str
) -> None:
    """The REGISTER as it is gets our challenge; the same REGISTER with the phone's answer to
    it (the next CSeq, a new branch, as a phone sends it) is bound, with the Contact as the
    RFC expects it back."""
    sw, directory, _events = switch_rig
    data = load(name)
    req = request(name)
    aor = req.to_addr.uri.user or ""
    directory.passwords[aor] = "secret-" + aor
    peer = await Peer().open(("127.0.0.1", sw.local_port))
    try:
        peer.send_raw(data)
        challenge = await peer.expect_response(401)
        auth = answer_auth(challenge, aor, "secret-" + aor, str(req.uri)).encode()
        number = req.cseq[0]
        again = (
            data.replace(b"CSeq: %d REGISTER" % number, b"CSeq: %d REGISTER" % (number + 1))
            .replace(b"branch=z9hG4bKkdjuw", b"branch=z9hG4bKkdjuw2")
            .replace(b"\r\n\r\n", b"\r\n" + auth + b"\r\n", 1)
        )
        peer.send_raw(again)
        ok = await peer.expect_response(200)
    finally:
        peer.close()
    # The 200 gives each binding's time left, whole seconds: a second may tick in between.
    got = ok.headers.get_all("contact")
    assert [c.replace("expires=3599", "expires=3600") for c in got] == [contact], got
    assert sw.is_registered(aor)


# ---- the stream transports: framing as the RFC describes it --------------------------------


async def _tcp(sw: Switch, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", sw.local_port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def test_wsinv_over_tcp_is_framed_by_its_content_length(switch_rig: Rig) -> None:
    """Content-Length in the middle of the head (wsinv) frames the message over TCP: one
    answer, and the SDP body is not read as a second message."""
    sw, _directory, _events = switch_rig
    reader, writer = await _tcp(sw, load("wsinv"))
    try:
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert first.startswith(b"SIP/2.0 481 ")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.4)  # no 400 for the body
    finally:
        writer.close()


@pytest.mark.parametrize("name", ["ncl", "mcl01"])
async def test_unreadable_content_length_over_tcp_gets_400_and_the_connection_closed(
    switch_rig: Rig, name: str
) -> None:
    """3.1.2.3 and 3.3.9 over a stream: the framing error cannot be recovered from."""
    sw, _directory, _events = switch_rig
    reader, writer = await _tcp(sw, load(name))
    try:
        rest = await asyncio.wait_for(reader.read(), 5)  # read to EOF: the switch closed
        assert rest.startswith(b"SIP/2.0 400 ")
        assert rest.count(b"\r\n\r\n") == 1  # one answer: the body was not read as a message
    finally:
        writer.close()


async def test_clerr_over_tcp_waits_for_the_rest_of_the_body(switch_rig: Rig) -> None:
    """3.1.2.2 over a stream: nothing to answer yet, the connection stays open for more."""
    sw, _directory, _events = switch_rig
    reader, writer = await _tcp(sw, load("clerr"))
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.5)
        assert not writer.is_closing() and not reader.at_eof()
    finally:
        writer.close()
