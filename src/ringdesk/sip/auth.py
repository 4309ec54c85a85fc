"""HTTP digest authentication for SIP (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760).

Server side: challenges offer MD5 then SHA-256. RFC 8760 clients pick the strongest they know
from all the headers, but older stacks (SIPp 3.6 among them) read only the first header, so MD5
comes first to keep them working. Nonces carry their own timestamp and an HMAC, so whether a
nonce is ours and how old needs no stored state; a nonce that is ours but old, answered with
the right password, gets `stale=true` and the phone retries without asking the user. The nc
of every used nonce is remembered (bounded), so a captured Authorization cannot be replayed.
Client side: answer a trunk's 401/407.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _h(algorithm: str, text: str) -> str:
    return ALGORITHMS[algorithm](text.encode()).hexdigest()


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """'Digest a="b, c", d=e' -> ("digest", {"a": "b, c", "d": "e"}). Never raises."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,\t":
            i += 1
        start = i
        while i < n and rest[i] not in "=,":
            i += 1
        name = rest[start:i].strip().lower()
        if i >= n or rest[i] != "=":
            i += 1
            continue
        i += 1
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(rest[i])
                i += 1
            i += 1
            val = "".join(chars)
        else:
            start = i
            while i < n and rest[i] != ",":
                i += 1
            val = rest[start:i].strip()
        if name:
            params[name] = val
    return scheme.lower(), params


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str = ""
    cnonce: str = ""


def parse_credentials(value: str) -> Credentials | None:
    """An Authorization/Proxy-Authorization header, None when it is not usable digest."""
    scheme, p = parse_params(value)
    if scheme != "digest":
        return None
    try:
        algorithm = p.get("algorithm", "MD5").upper()
        if algorithm not in ALGORITHMS:
            return None
        return Credentials(
            username=p["username"],
            realm=p["realm"],
            nonce=p["nonce"],
            uri=p["uri"],
            response=p["response"].lower(),
            algorithm=algorithm,
            qop=p.get("qop"),
            nc=p.get("nc", ""),
            cnonce=p.get("cnonce", ""),
        )
    except KeyError:
        return None


class Verdict(enum.Enum):
    OK = "ok"
    STALE = "stale"  # right password, our nonce but expired: challenge again with stale=true
    UNKNOWN_NONCE = "unknown_nonce"  # not a nonce we know: a fresh challenge, for everyone alike
    REPLAY = "replay"  # right password, but this nonce and nc were used already: refused
    BAD = "bad"  # wrong password, unknown user, or unusable parameters


MAX_TRACKED_NONCES = 50_000
CLOCK_SKEW = 5.0  # seconds a nonce may seem to come from the future (it never should)


class DigestServer:
    """Nonces are `stamp.salt.mac`: the stamp (when issued) and a random salt under an HMAC of
    our secret and the realm, so a nonce proves it is ours and how old it is without a table.
    The salt makes each challenge's nonce unique: two phones challenged in the same second must
    not share a nonce, or the second one's nc 1 would look like the first one's replay.

    What needs a table is replay protection (RFC 7616 3.3): the highest nc accepted per nonce,
    kept for nonces that were used, at most `max_nonces` of them, oldest first use dropped
    first. A dropped nonce cannot be checked any more, so every nonce issued no later than the
    newest dropped one is then answered as unknown (a fresh challenge): never accepted twice.
    """

    def __init__(
        self,
        secret: bytes,
        realm: str,
        nonce_lifetime: float = 300.0,
        max_nonces: int = MAX_TRACKED_NONCES,
    ) -> None:
        self._secret = secret
        self.realm = realm
        self.nonce_lifetime = nonce_lifetime
        self.max_nonces = max_nonces
        self._used: dict[str, tuple[int, int]] = {}  # nonce -> (its stamp, highest nc)
        self._floor = -1  # nonces stamped at or before this were dropped from the table
        # Unknown users are checked against this, so they cost the same hashing as real ones.
        self._decoy = secrets.token_hex(16)

    def _mac(self, stamp: str, salt: str) -> str:
        text = f"{stamp}:{salt}:{self.realm}".encode()
        return hmac.new(self._secret, text, "sha256").hexdigest()[:32]

    def make_nonce(self, now: float) -> str:
        stamp = f"{int(now):x}"
        salt = secrets.token_hex(6)
        return f"{stamp}.{salt}.{self._mac(stamp, salt)}"

    def nonce_age(self, nonce: str, now: float) -> float | None:
        """Seconds since the nonce was made, None if we did not make it."""
        parts = nonce.split(".")
        if len(parts) != 3:
            return None
        stamp, salt, mac = parts
        if not hmac.compare_digest(mac, self._mac(stamp, salt)):
            return None
        try:
            return now - int(stamp, 16)
        except ValueError:
            return None

    @property
    def tracked(self) -> int:
        return len(self._used)

    def challenge(
        self, now: float, *, stale: bool = False, algorithms: tuple[str, ...] = ("MD5", "SHA-256")
    ) -> list[str]:
        """Header values for WWW-Authenticate (or Proxy-Authenticate), one per algorithm."""
        nonce = self.make_nonce(now)
        extra = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={alg}, qop="auth"{extra}'
            for alg in algorithms
        ]

    def verify(self, creds: Credentials, method: str, password: str | None, now: float) -> Verdict:
        """`password` None: no such user. The answer then is the one a wrong password gets, after
        the same work, so neither the verdict nor its timing tells whether the user exists."""
        if creds.realm != self.realm:
            return Verdict.UNKNOWN_NONCE
        age = self.nonce_age(creds.nonce, now)
        if age is None or age < -CLOCK_SKEW:
            return Verdict.UNKNOWN_NONCE
        stamp = round(now - age)
        if stamp <= self._floor and creds.nonce not in self._used:
            return Verdict.UNKNOWN_NONCE
        if creds.qop not in (None, "auth"):
            return Verdict.BAD
        count = _nonce_count(creds)
        if count is None:
            return Verdict.BAD
        expected = compute_response(
            algorithm=creds.algorithm,
            username=creds.username,
            realm=creds.realm,
            password=self._decoy if password is None else password,
            method=method,
            uri=creds.uri,
            nonce=creds.nonce,
            qop=creds.qop,
            nc=creds.nc,
            cnonce=creds.cnonce,
        )
        if not hmac.compare_digest(expected, creds.response) or password is None:
            return Verdict.BAD
        if age > self.nonce_lifetime:
            return Verdict.STALE
        seen = self._used.get(creds.nonce)
        if seen is not None and count <= seen[1]:
            return Verdict.REPLAY
        self._remember(creds.nonce, stamp, count, now)
        return Verdict.OK

    def _remember(self, nonce: str, stamp: int, count: int, now: float) -> None:
        if nonce in self._used:
            self._used[nonce] = (stamp, count)
            return
        self._used[nonce] = (stamp, count)
        # Expired nonces never reach the table lookup (they are stale first): drop them.
        horizon = now - self.nonce_lifetime - CLOCK_SKEW
        while self._used:
            first = next(iter(self._used))
            first_stamp = self._used[first][0]
            if first_stamp < horizon:
                del self._used[first]
            elif len(self._used) > self.max_nonces:
                del self._used[first]
                self._floor = max(self._floor, first_stamp)
            else:
                break


def _nonce_count(creds: Credentials) -> int | None:
    """The nc as a number; 0 without qop (RFC 2069 style, no nc: such a nonce is good once).
    None when it is not the 8 hex digits RFC 7616 requires, or is zero."""
    if creds.qop is None:
        return 0
    if len(creds.nc) != 8:
        return None
    try:
        count = int(creds.nc, 16)
    except ValueError:
        return None
    return count if count > 0 else None


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str | None = None
    opaque: str | None = None


def parse_challenge(value: str) -> Challenge | None:
    scheme, p = parse_params(value)
    if scheme != "digest" or "nonce" not in p:
        return None
    algorithm = p.get("algorithm", "MD5").upper()
    if algorithm not in ALGORITHMS:
        return None
    qops = [q.strip() for q in p.get("qop", "").split(",") if q.strip()]
    return Challenge(
        realm=p.get("realm", ""),
        nonce=p["nonce"],
        algorithm=algorithm,
        qop="auth" if "auth" in qops else None,
        opaque=p.get("opaque"),
    )


_LEGACY_UA = re.compile(r"\bbaresip v[0-2]\.", re.IGNORECASE)


def legacy_md5_only(user_agent: str | None) -> bool:
    """Clients known to give up on a whole 401 when one of its challenges is not MD5 (libre
    before SHA-256 support answers ENOSYS instead of skipping it): challenge them with MD5 only."""
    return bool(user_agent and _LEGACY_UA.search(user_agent))


def pick_challenge(values: list[str]) -> Challenge | None:
    """The strongest challenge we can answer among several headers."""
    parsed = [c for c in (parse_challenge(v) for v in values) if c is not None]
    parsed.sort(key=lambda c: 0 if c.algorithm == "SHA-256" else 1)
    return parsed[0] if parsed else None


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    nc_text = f"{nc:08x}"
    response = compute_response(
        algorithm=challenge.algorithm,
        username=username,
        realm=challenge.realm,
        password=password,
        method=method,
        uri=uri,
        nonce=challenge.nonce,
        qop=challenge.qop,
        nc=nc_text,
        cnonce=cnonce,
    )
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if challenge.qop:
        parts += [f"qop={challenge.qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)
