"""Replacement values for direct-identifier columns, with no link to the real values.

Direct identifiers are never modeled. When a column's ``identifier_handling`` is ``"fake"`` its
values are replaced by :func:`fake_values`, which draws everything from the caller's seeded
generator and never sees the real data, so no real value can leak through. Each kind is
format-valid (it passes the validators of :mod:`app.engine.pii`, checksums included) while
staying in ranges reserved for examples wherever one exists: ``example.com`` mail domains
(RFC 2606), ``555-01xx`` phone numbers, never-issued ``9xx`` SSN areas, a test card BIN and the
documentation IP networks (RFC 5737, RFC 3849).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Small, neutral name lists; fixed so that output does not change with a library upgrade.
FIRST_NAMES = (
    "Alex", "Ari", "Avery", "Casey", "Charlie", "Dana", "Drew", "Eden", "Emery", "Finley",
    "Harper", "Hayden", "Jamie", "Jesse", "Jordan", "Kai", "Kim", "Lee", "Logan", "Lou",
    "Max", "Morgan", "Nico", "Noor", "Parker", "Quinn", "Reese", "Remy", "Riley", "Robin",
    "Rowan", "Sage", "Sam", "Sasha", "Skyler", "Tatum", "Taylor", "Toni", "Val", "Yuki",
)  # fmt: skip
LAST_NAMES = (
    "Ashdown", "Birchley", "Calloway", "Dunmore", "Elmsworth", "Fairholm", "Greaves", "Hollins",
    "Ivers", "Jessop", "Kettering", "Lindqvist", "Marlowe", "Northcott", "Oakes", "Pemberton",
    "Quill", "Rowntree", "Summerfield", "Thornbury", "Underhill", "Vance", "Whitlock", "Yardley",
    "Ainsworth", "Brookes", "Cotterill", "Dale", "Everly", "Fenwick", "Garrow", "Hale",
)  # fmt: skip

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# Visa's 4000 00 range is what payment processors hand out as test cards.
TEST_CARD_BIN = "400000"
CARD_LENGTH = 16
# Areas 900-999 are never issued as SSNs; groups 50-65, 70-88, 90-92 and 94-99 of those areas
# are IRS taxpayer numbers (ITINs), so fakes use groups 01-49 only.
SSN_AREAS = (900, 1000)
SSN_GROUPS = (1, 50)
IBAN_COUNTRY = "GB"
IBAN_BANK = "ZZZZ"  # a fictional bank code; the rest of the BBAN is random
IPV4_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")  # TEST-NET-1/2/3, RFC 5737
DOB_RANGE = (np.datetime64("1930-01-01"), np.datetime64("2006-01-01"))


def fake_values(kind: str | None, n: int, rng: np.random.Generator) -> list[str]:
    """Draw ``n`` format-valid stand-ins for a direct identifier of ``kind``.

    The values come from ``rng`` alone (the same generator state gives the same values) and
    are unique where the kind has room for it (e-mails, card numbers, IBANs, opaque ids).

    Args:
        kind: a PII kind from :mod:`app.engine.pii` (``email``, ``phone``, ``ssn``,
            ``payment_card``, ``iban``, ``ip_address`` (or ``ipv4``/``ipv6``), ``person_name``,
            ``date_of_birth``, ``postcode``); anything else, or None, gives opaque ids such as
            ``ID-636961687321``.
        n: how many values.
        rng: the seeded generator to draw from.

    Returns:
        ``n`` strings.

    Raises:
        ValueError: ``n`` is negative.

    >>> fake_values("email", 2, np.random.default_rng(0))
    ['skyler.quill.40973@example.com', 'quinn.ivers.307829@example.com']
    >>> fake_values(None, 1, np.random.default_rng(0))
    ['ID-636961687321']
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if n == 0:
        return []
    return _GENERATORS.get(kind or "", _opaque_ids)(n, rng)


def _unique_ints(rng: np.random.Generator, high: int, n: int) -> list[int]:
    """``n`` integers in [0, high), distinct when there are enough of them."""
    if n <= high:
        return rng.choice(high, size=n, replace=False).tolist()
    return rng.integers(0, high, n).tolist()


def _names(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    first = np.asarray(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)].tolist()
    last = np.asarray(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)].tolist()
    return first, last


def _emails(n: int, rng: np.random.Generator) -> list[str]:
    first, last = _names(n, rng)
    numbers = _unique_ints(rng, 10**6, n) if n <= 10**6 else _unique_ints(rng, 10**12, n)
    domains = np.asarray(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)].tolist()
    return [f"{f.lower()}.{s.lower()}.{k}@{d}" for f, s, k, d in zip(first, last, numbers, domains)]


def _phones(n: int, rng: np.random.Generator) -> list[str]:
    # North American area codes: first digit 2-9; N11 codes are service numbers, avoided.
    areas = rng.integers(200, 1000, n)
    areas = np.where(areas % 100 == 11, areas + 1, areas).tolist()
    lines = rng.integers(0, 100, n).tolist()
    return [f"({a}) 555-01{x:02d}" for a, x in zip(areas, lines)]


def _ssns(n: int, rng: np.random.Generator) -> list[str]:
    areas = rng.integers(*SSN_AREAS, n).tolist()
    groups = rng.integers(*SSN_GROUPS, n).tolist()
    serials = rng.integers(1, 10_000, n).tolist()
    return [f"{a:03d}-{g:02d}-{s:04d}" for a, g, s in zip(areas, groups, serials)]


def _cards(n: int, rng: np.random.Generator) -> list[str]:
    body_len = CARD_LENGTH - len(TEST_CARD_BIN) - 1
    bodies = np.asarray(_unique_ints(rng, 10**body_len, n), dtype=np.int64)
    bin_digits = np.array([int(c) for c in TEST_CARD_BIN], dtype=np.int64)
    body_digits = (bodies[:, None] // 10 ** np.arange(body_len - 1, -1, -1, dtype=np.int64)) % 10
    digits = np.hstack([np.broadcast_to(bin_digits, (n, len(bin_digits))), body_digits])
    # Luhn: double every second digit from the right of the full number (check digit excluded).
    doubled = (digits.shape[1] - np.arange(digits.shape[1])) % 2 == 1
    values = np.where(doubled, digits * 2, digits)
    values = np.where(values > 9, values - 9, values)
    checks = ((10 - values.sum(axis=1) % 10) % 10).tolist()
    return [f"{TEST_CARD_BIN}{b:0{body_len}d}{c}" for b, c in zip(bodies.tolist(), checks)]


def _ibans(n: int, rng: np.random.Generator) -> list[str]:
    sort_codes = rng.integers(0, 10**6, n)
    accounts = np.asarray(_unique_ints(rng, 10**8, n), dtype=np.int64)
    # ISO 13616 check digits, vectorised: the number is bank letters as digits, sort code,
    # account, then the country letters and "00"; work modulo 97 piece by piece.
    bank = int("".join(str(int(ch, 36)) for ch in IBAN_BANK)) % 97
    tail_text = "".join(str(int(ch, 36)) for ch in f"{IBAN_COUNTRY}00")
    tail_len = len(tail_text)
    rest = (
        bank * pow(10, 14 + tail_len, 97)
        + sort_codes * pow(10, 8 + tail_len, 97)
        + accounts * pow(10, tail_len, 97)
        + int(tail_text) % 97
    ) % 97
    checks = (98 - rest).tolist()
    return [
        f"{IBAN_COUNTRY}{c:02d}{IBAN_BANK}{sc:06d}{acc:08d}" for c, sc, acc in zip(checks, sort_codes.tolist(), accounts.tolist())
    ]


def _ipv4(n: int, rng: np.random.Generator) -> list[str]:
    nets = np.asarray(IPV4_NETWORKS)[rng.integers(0, len(IPV4_NETWORKS), n)].tolist()
    hosts = rng.integers(1, 255, n).tolist()  # no network or broadcast address
    return [f"{net}.{h}" for net, h in zip(nets, hosts)]


def _ipv6(n: int, rng: np.random.Generator) -> list[str]:
    groups = rng.integers(0, 1 << 16, (n, 6)).tolist()
    return ["2001:db8:" + ":".join(f"{g:x}" for g in row) for row in groups]


def _person_names(n: int, rng: np.random.Generator) -> list[str]:
    first, last = _names(n, rng)
    return [f"{f} {s}" for f, s in zip(first, last)]


def _dates_of_birth(n: int, rng: np.random.Generator) -> list[str]:
    lo, hi = DOB_RANGE
    days = rng.integers(0, int((hi - lo).astype(int)), n)
    return (lo + days.astype("timedelta64[D]")).astype(str).tolist()


def _postcodes(n: int, rng: np.random.Generator) -> list[str]:
    return [f"{z:05d}" for z in rng.integers(0, 100_000, n).tolist()]


def _opaque_ids(n: int, rng: np.random.Generator) -> list[str]:
    return [f"ID-{k:012d}" for k in _unique_ints(rng, 10**12, n)]


_GENERATORS: dict[str, Callable[[int, np.random.Generator], list[str]]] = {
    "email": _emails,
    "phone": _phones,
    "ssn": _ssns,
    "payment_card": _cards,
    "iban": _ibans,
    "ip_address": _ipv4,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "person_name": _person_names,
    "date_of_birth": _dates_of_birth,
    "postcode": _postcodes,
}
