"""What a trunk's provider expects of our calls: the caller ID headers (From, and
P-Asserted-Identity or Remote-Party-ID) and the number formats out (E.164 with or without +,
national) and in (the caller's number as E.164, so it matches the dial plan's numbers). Pure."""

from __future__ import annotations

from ringdesk.sip.uri import NameAddr, SipUri

from .lookup import TrunkSettings

_USER_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,"
)
INTERNATIONAL_PREFIX = "00"  # ITU-T E.164 recommendation; what a national format dials abroad


def uri_user(text: str) -> str:
    """`text` as the user part of a SIP URI (RFC 3261 25.1), everything else %HH-escaped (a
    number "5551234#" goes as "5551234%23")."""
    return "".join(
        ch if ch in _USER_SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in text
    )


def format_out(number: str, trunk: TrunkSettings) -> str:
    """A number (E.164 with + once the dial plan knows the country) in the trunk's format."""
    if not number.startswith("+"):
        return number  # not E.164 (the plan has no country): sent as dialled
    digits = number[1:]
    match trunk.number_format:
        case "e164_plain":
            return digits
        case "national":
            cc = trunk.country_code
            if cc and digits.startswith(cc):
                return "0" + digits[len(cc) :]
            return INTERNATIONAL_PREFIX + digits
        case _:
            return number


def normalise_in(number: str, country_code: str | None) -> str:
    """The caller's number as the trunk sent it, as E.164 with +: "+49..." stays, "0049..."
    and "49..." (E.164 without +) get the +, a national "030..." gets +49 for the trunk's
    country 49. Without a country on the trunk, or for what is not a number, unchanged."""
    if not country_code:
        return number
    bare = "".join(ch for ch in number if ch not in " -./()")
    if not bare or not bare.lstrip("+").isdigit():
        return number
    if bare.startswith("+"):
        return bare
    if bare.startswith(INTERNATIONAL_PREFIX):
        return "+" + bare[len(INTERNATIONAL_PREFIX) :]
    if bare.startswith("0"):
        return f"+{country_code}{bare[1:]}"
    return "+" + bare


def called_forms(called: str, country_code: str | None) -> tuple[str, ...]:
    """The spellings a called number from a trunk may have among the services' inbound numbers,
    the number as sent first: with the trunk's country, "+49305550100", "49305550100" and
    "0305550100" are one number however the provider writes it and the admin typed it."""
    forms = [called]
    e164 = normalise_in(called, country_code)
    if country_code and e164.startswith("+") and e164[1:].isdigit():
        digits = e164[1:]
        forms += [e164, digits]
        if digits.startswith(country_code):
            forms.append("0" + digits[len(country_code) :])
    return tuple(dict.fromkeys(forms))


def withheld(calling_number: str) -> bool:
    return not calling_number or calling_number.lower() == "anonymous"


def caller_id(
    calling_number: str, trunk: TrunkSettings, domain: str
) -> tuple[NameAddr, list[tuple[str, str]]]:
    """The From (its user is the calling number, in the trunk's format) and the extra headers
    of the caller ID form the trunk is set to. A withheld number goes as anonymous (RFC 3323)
    with `Privacy: id` when the trunk asks for privacy, and asserts nothing."""
    host = trunk.from_domain or trunk.host or domain
    if withheld(calling_number):
        if trunk.privacy_withheld:
            anon = NameAddr(SipUri(host="anonymous.invalid", user="anonymous"), "Anonymous")
            return anon, [("Privacy", "id")]
        return NameAddr(SipUri(host=host, user="anonymous")), []
    user = uri_user(format_out(calling_number, trunk))
    ident = NameAddr(SipUri(host=host, user=user))
    match trunk.identity_header:
        case "pai":
            return ident, [("P-Asserted-Identity", f"<{ident.uri}>")]
        case "rpid":
            rpid = f"<{ident.uri}>;party=calling;screen=yes;privacy=off"
            return ident, [("Remote-Party-ID", rpid)]
        case _:
            return ident, []
