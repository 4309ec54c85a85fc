"""The password policy for user accounts (ASVS 5.0 V6.2): long enough, not a known common one.

No composition rules (a digit, a capital...): they make passwords harder to remember, not to
guess. Shorter common passwords ("123456", "password") already fail the length rule, so the
list holds the common ones that are at least MIN_LENGTH long, as people type them.
"""

from __future__ import annotations

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 takes any length; this only bounds the work per request

# Compared case-insensitively. Written for this project from the patterns that lead every
# published list of breached passwords: keyboard walks, digit runs, words with digits appended.
COMMON = frozenset(
    """
    1234567890 0123456789 0987654321 9876543210 1111111111 0000000000 1234512345 1122334455
    1q2w3e4r5t 1qaz2wsx3edc qwertyuiop qwertyuiop123 asdfghjkl; asdfghjkl1 zxcvbnm123
    qwerty1234 qwerty12345 qwerty123456 1qazxsw23edc q1w2e3r4t5 q1w2e3r4t5y6 zaq12wsx3edc
    zaq1zaq1zaq1 qazwsxedc123 qazwsxedcrfv 123qweasdzxc 123456789a 123456789q 12345678910
    1234567891 123456789z 12345qwert 12345abcde abcdefghij abcd123456 abc1234567 a123456789
    password12 password123 password1234 password12345 password!1 passw0rd123 p@ssw0rd123
    p@ssword123 password01 mypassword mypassword1 newpassword changeme123 changeme12
    letmein123 welcome123 welcome1234 welcome2024 welcome2025 welcome2026 iloveyou12
    iloveyou123 iloveyou1234 sunshine12 sunshine123 princess12 princess123 football12
    football123 baseball12 baseball123 basketball superman12 superman123 batman1234
    starwars12 starwars123 dragon1234 monkey1234 shadow1234 master1234 michael123
    jennifer12 jordan2323 liverpool1 liverpool12 chelsea123 arsenal123 trustno1234
    administrator admin12345 admin123456 adminadmin administrator1 rootroot12 test123456
    testtest12 qwertyqwerty passwordpassword abc123abc123 987654321a summer2024 summer2025
    winter2024 winter2025 spring2025 autumn2025 december12 helloworld helloworld1
    hello12345 computer12 internet12 whatever12 freedom123 secret1234 samsung123
    pokemon123 minecraft1 minecraft12 charlie123 soccer1234 ringdesk123 ringdesk12
    contactcenter callcenter callcenter1
    """.split()  # noqa: SIM905 (a block of words reads and edits better than 124 strings)
)


def problem(password: str, *, username: str | None = None) -> str | None:
    """Why the password is refused (a phrase to follow the field name), or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    folded = password.casefold()
    if folded in COMMON or len(set(folded)) == 1:
        return "is one of the most common passwords; choose another"
    if username and username.casefold() in folded:
        return "must not contain the username"
    return None
