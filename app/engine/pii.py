"""Detection of direct identifiers and other personal data, run before anything is modeled.

:func:`detect_pii` looks at a column's name and a deterministic sample of its non-null values.
Value patterns decide when at least :data:`MATCH_SHARE` of the sample matches a strict validator
(checksums for payment cards and IBANs, issuance rules for SSNs); a column name alone gives a
lower-confidence finding, and only when the values look like per-person values (many distinct).

The validators are public: :mod:`app.engine.identifiers` tests its fake values against them.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

SAMPLE_SIZE = 2_000
MATCH_SHARE = 0.8
# With a matching column name, a lower share still counts (mixed formats, typos).
HINTED_MATCH_SHARE = 0.5
# A name hint alone needs values that vary per person, not a handful of codes.
HINT_ONLY_DISTINCT_SHARE = 0.5

# Kinds that identify a person on their own; the others are quasi-identifiers.
DIRECT_KINDS = frozenset({"email", "phone", "ssn", "payment_card", "iban", "ip_address", "person_name"})
QUASI_KINDS = frozenset({"date_of_birth", "postcode"})
KINDS = DIRECT_KINDS | QUASI_KINDS


@dataclass(frozen=True)
class PiiFinding:
    """A column that holds personal data of ``kind``.

    ``share`` is the fraction of sampled non-null values that matched the kind's validator,
    ``confidence`` in [0, 1] how sure the detector is, ``reason`` a sentence for humans.
    """

    kind: str
    share: float
    confidence: float
    reason: str

    @property
    def direct(self) -> bool:
        """True when the kind identifies a person on its own."""
        return self.kind in DIRECT_KINDS


# --- validators ------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")
_SSN = re.compile(r"^(\d{3})([- ]?)(\d{2})\2(\d{4})$")
_CARD_CHARS = re.compile(r"^\d[\d -]{11,22}\d$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_US_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")
_ZIP_PLUS4 = re.compile(r"^\d{5}-\d{4}$")
_UK_POSTCODE = re.compile(r"^(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})$", re.IGNORECASE)
_CA_POSTCODE = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$", re.IGNORECASE)
_DIGIT_POSTCODE = re.compile(r"^\d{4,6}$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y%m%d")


def is_email(value: str) -> bool:
    """Plausible e-mail address (``local@domain.tld``, no spaces, dotted domain).

    >>> is_email("ada@example.org"), is_email("ada@localhost"), is_email("a b@x.io")
    (True, False, False)
    """
    return len(value) <= 254 and _EMAIL.match(value) is not None


def is_phone(value: str) -> bool:
    """Formatted phone number: ``+`` and 8-15 digits, or 10-15 digits in 3+ groups / with ``()``.

    Bare digit strings are not accepted (they are usually amounts or ids), nor dates.

    >>> is_phone("+44 20 7946 0958"), is_phone("(212) 555-0123"), is_phone("2125550123")
    (True, True, False)
    >>> is_phone("2021-03-04"), is_phone("12345.678901")
    (False, False)
    """
    value = value.strip()
    if not _PHONE_CHARS.match(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    groups = [g for g in re.split(r"[\s().-]+", value.lstrip("+")) if g]
    if value.startswith("+"):
        return 8 <= digits <= 15
    if not 10 <= digits <= 15:
        return False
    return len(groups) >= 3 or "(" in value


def is_ssn(value: str, *, issued_only: bool = True) -> bool:
    """US Social Security number ``AAA-GG-SSSS`` (dashes, spaces or none, used consistently).

    Area 000 and 666, group 00 and serial 0000 are never valid; area 900-999 is never issued
    as an SSN (accepted only with ``issued_only=False``, the range fake SSNs are drawn from).

    >>> is_ssn("123-45-6789"), is_ssn("666-45-6789"), is_ssn("912-34-5678")
    (True, False, False)
    >>> is_ssn("912-34-5678", issued_only=False)
    True
    """
    m = _SSN.match(value.strip())
    if m is None:
        return False
    area, group, serial = m.group(1), m.group(3), m.group(4)
    if area in ("000", "666") or group == "00" or serial == "0000":
        return False
    return not (issued_only and area.startswith("9"))


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check of a digit string.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass :func:`luhn_valid`.

    >>> luhn_check_digit("411111111111111")
    '1'
    """
    for d in "0123456789":
        if luhn_valid(payload + d):
            return d
    raise ValueError("payload must be digits")  # pragma: no cover - some digit always fits


def is_payment_card(value: str) -> bool:
    """Payment card number: 13-19 digits (spaces or dashes allowed), Luhn-valid, not one repeated digit.

    >>> is_payment_card("4111 1111 1111 1111"), is_payment_card("4111 1111 1111 1112")
    (True, False)
    """
    value = value.strip()
    if not _CARD_CHARS.match(value):
        return False
    digits = value.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    return luhn_valid(digits)


def iban_check_digits(country: str, bban: str) -> str:
    """The two ISO 13616 check digits of an IBAN with ``country`` and ``bban``.

    >>> iban_check_digits("GB", "WEST12345698765432")
    '82'
    """
    rearranged = f"{bban}{country}00".upper()
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{98 - number % 97:02d}"


def is_iban(value: str) -> bool:
    """IBAN (ISO 13616): country, two check digits, 11-30 alphanumerics; mod-97 must be 1.

    >>> is_iban("GB82 WEST 1234 5698 7654 32"), is_iban("GB83 WEST 1234 5698 7654 32")
    (True, False)
    """
    compact = value.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def is_ip_address(value: str) -> bool:
    """IPv4 or IPv6 address (as parsed by :mod:`ipaddress`; no leading zeros, no bare integers).

    >>> is_ip_address("192.0.2.7"), is_ip_address("2001:db8::1"), is_ip_address("1.2.3")
    (True, True, False)
    """
    value = value.strip()
    if not value or not (":" in value or value.count(".") == 3):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_person_name(value: str) -> bool:
    """Two or three capitalised alphabetic tokens, e.g. ``Ada Lovelace``, ``Mary-Ann O'Neil``.

    A middle initial (``John F. Kennedy``) is allowed; acronyms and lower-case words are not.

    >>> is_person_name("Ada Lovelace"), is_person_name("State-gov"), is_person_name("real estate")
    (True, False, False)
    """
    tokens = value.split()
    if not 2 <= len(tokens) <= 3:
        return False
    if not (_is_name_word(tokens[0]) and _is_name_word(tokens[-1])):
        return False
    return all(_is_name_word(t) or _is_initial(t) for t in tokens[1:-1])


def _is_name_word(token: str) -> bool:
    """A capitalised word, possibly joined by hyphens or apostrophes (O'Neil, Smith-Jones, McDonald)."""
    parts = re.split(r"['’-]", token)
    if not all(p.isalpha() for p in parts) or not token[0].isupper():
        return False
    if len(parts[0]) == 1 and len(parts) == 1:
        return False
    # Some lower-case letters: "IBM" or "USA" are not names.
    return any(ch.islower() for ch in token) and all(p[0].isupper() for p in parts)


def _is_initial(token: str) -> bool:
    return len(token.rstrip(".")) == 1 and token[0].isalpha() and token[0].isupper()


def _is_name_part(value: str) -> bool:
    """One to three capitalised words (a first name or surname on its own counts)."""
    tokens = value.split()
    return 1 <= len(tokens) <= 3 and all(_is_name_word(t) for t in tokens)


def parse_date(value: str) -> datetime | None:
    """Parse a calendar date in a common format (ISO first), or None.

    >>> parse_date("1980-02-29").year, parse_date("31/12/1999").month, parse_date("1999-02-30")
    (1980, 12, None)
    """
    value = value.strip()
    if not 6 <= len(value) <= 10:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def is_birth_date(value: str) -> bool:
    """A date (see :func:`parse_date`) in a plausible range of birth years, 1880-2100."""
    parsed = parse_date(value)
    return parsed is not None and 1880 <= parsed.year <= 2100


def is_postcode(value: str) -> bool:
    """US ZIP (5 or 5+4), UK or Canadian postcode, or a 4-6 digit code.

    >>> is_postcode("02139"), is_postcode("SW1A 1AA"), is_postcode("K1A 0B1"), is_postcode("12")
    (True, True, True, False)
    """
    value = value.strip()
    return bool(_US_ZIP.match(value) or _UK_POSTCODE.match(value) or _CA_POSTCODE.match(value) or _DIGIT_POSTCODE.match(value))


def _is_distinctive_postcode(value: str) -> bool:
    """Postcode formats that do not look like plain numbers (enough without a column name)."""
    value = value.strip()
    return bool(_ZIP_PLUS4.match(value) or _UK_POSTCODE.match(value) or _CA_POSTCODE.match(value))


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "email": is_email,
    "phone": is_phone,
    "ssn": is_ssn,
    "payment_card": is_payment_card,
    "iban": is_iban,
    "ip_address": is_ip_address,
    "person_name": is_person_name,
    "date_of_birth": is_birth_date,
    "postcode": is_postcode,
}


# --- column-name hints -----------------------------------------------------------------------


def name_tokens(name: str) -> list[str]:
    """Lower-case word tokens of a column name (splits on punctuation, spaces and camelCase).

    >>> name_tokens("dateOfBirth"), name_tokens("capital-gain"), name_tokens("ZIP_Code")
    (['date', 'of', 'birth'], ['capital', 'gain'], ['zip', 'code'])
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


_PERSON_NAME_WORDS = frozenset(
    {
        "surname",
        "forename",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "middlename",
        "maidenname",
        "forenames",
        "surnames",
    }
)
_PERSON_NAME_QUALIFIERS = frozenset(
    {
        "first",
        "last",
        "full",
        "given",
        "family",
        "middle",
        "maiden",
        "person",
        "customer",
        "patient",
        "client",
        "employee",
        "contact",
        "member",
        "student",
        "owner",
        "holder",
        "cardholder",
        "account",
        "applicant",
        "beneficiary",
        "mother",
        "father",
        "spouse",
        "legal",
        "display",
        "birth",
    }
)


def _has(tokens: list[str], *words: str) -> bool:
    return any(w in tokens for w in words)


def _joined(tokens: list[str]) -> str:
    return "".join(tokens)


def name_hint(name: str) -> str | None:
    """The PII kind a column name suggests, or None.

    >>> name_hint("Email Address"), name_hint("first_name"), name_hint("birth_country")
    ('email', 'person_name', None)
    """
    tokens = name_tokens(name)
    joined = _joined(tokens)
    if _has(tokens, "email", "mail") or "email" in joined:
        return "email"
    if _has(tokens, "ssn", "ssns") or "socialsecurity" in joined:
        return "ssn"
    if _has(tokens, "iban"):
        return "iban"
    if "creditcard" in joined or "cardnumber" in joined or "cardno" in joined or _has(tokens, "pan", "ccn"):
        return "payment_card"
    if _has(tokens, "ip", "ipv4", "ipv6", "ipaddr", "ipaddress") or "ipaddress" in joined:
        return "ip_address"
    if _has(tokens, "phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "msisdn") or "phone" in joined:
        return "phone"
    if (
        _has(tokens, "dob", "birthdate", "birthday")
        or "dateofbirth" in joined
        or (_has(tokens, "birth", "born") and not _has(tokens, "country", "place", "city", "year", "month", "weight"))
    ):
        return "date_of_birth"
    if (
        _has(tokens, "zip", "zipcode", "postcode", "postal", "postalcode", "plz")
        or "postcode" in joined
        or "postalcode" in joined
        or "zipcode" in joined
    ):
        return "postcode"
    if any(t in _PERSON_NAME_WORDS for t in tokens):
        return "person_name"
    if tokens and tokens[-1] in ("name", "names") and (len(tokens) == 1 or tokens[-2] in _PERSON_NAME_QUALIFIERS):
        return "person_name"
    return None


# --- detection -------------------------------------------------------------------------------

# When two kinds match equally, the more specific validator wins.
_ORDER = (
    "ssn",
    "payment_card",
    "iban",
    "email",
    "ip_address",
    "phone",
    "date_of_birth",
    "postcode",
    "person_name",
)
# Value-only matching is too loose for these without a column name to back it up.
_NEEDS_HINT = frozenset({"date_of_birth"})


def sample_values(values: pd.Series, size: int = SAMPLE_SIZE) -> list[str]:
    """Up to ``size`` non-null values as stripped strings, drawn deterministically (seed 0)."""
    series = pd.Series(values).dropna()
    if len(series) > size:
        picks = np.sort(np.random.default_rng(0).choice(len(series), size=size, replace=False))
        series = series.iloc[picks]
    out = []
    for v in series.tolist():
        text = v if isinstance(v, str) else _scalar_text(v)
        text = text.strip()
        if text:
            out.append(text)
    return out


def _scalar_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "isoformat"):
        # Datetime-like values are checked as ISO dates.
        return value.isoformat()[:10]
    return str(value)


def detect_pii(name: str, values: pd.Series) -> PiiFinding | None:
    """Decide whether a column holds personal data, and which kind.

    Args:
        name: the column name (hints such as ``email``, ``dob``, ``first_name``, ``zip``).
        values: the column (or a sample of it); nulls are ignored.

    Returns:
        The most specific finding, or None when the column does not look personal.

    >>> detect_pii("contact", pd.Series(["ada@example.org", "bob@example.com", None]))
    PiiFinding(kind='email', share=1.0, confidence=0.95, reason='100% of sampled values are valid e-mail addresses')
    >>> detect_pii("fnlwgt", pd.Series([77516, 83311, 215646])) is None
    True
    """
    sample = sample_values(values)
    hint = name_hint(name)
    if not sample:
        return None
    n = len(sample)
    distinct_share = len(set(sample)) / n
    candidates: list[PiiFinding] = []
    for kind in _ORDER:
        hinted = hint == kind
        if kind in _NEEDS_HINT and not hinted:
            continue
        floor = HINTED_MATCH_SHARE if hinted else MATCH_SHARE
        share = round(_match_count(kind, sample, hinted=hinted, min_share=floor) / n, 4)
        if kind == "person_name" and not _names_vary(sample, hinted):
            continue
        if share >= MATCH_SHARE:
            conf = 0.99 if hinted else 0.95
            if kind == "person_name" and not hinted:
                conf = 0.8
            if kind == "postcode" and not hinted:
                conf = 0.7
            reason = f"{share:.0%} of sampled values are valid {_LABELS[kind]}"
            if hinted:
                reason += f" and the column name {name!r} suggests it"
            candidates.append(PiiFinding(kind, share, conf, reason))
        elif hinted and share >= HINTED_MATCH_SHARE:
            reason = f"the column name {name!r} suggests {_LABELS[kind]} and {share:.0%} of sampled values are"
            candidates.append(PiiFinding(kind, share, 0.75, reason))
    if candidates:
        return max(candidates, key=lambda f: (f.confidence, f.share, -_ORDER.index(f.kind)))
    numeric_ok = hint in ("phone", "ssn", "payment_card")
    if hint in DIRECT_KINDS and distinct_share >= HINT_ONLY_DISTINCT_SHARE and (numeric_ok or not _mostly_numeric(sample)):
        share = round(_match_count(hint, sample, hinted=True) / n, 4)
        reason = (
            f"the column name {name!r} suggests {_LABELS[hint]} and the values are "
            f"{distinct_share:.0%} distinct, though only {share:.0%} match the format"
        )
        return PiiFinding(hint, share, 0.5, reason)
    return None


_LABELS = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "ssn": "US social security numbers",
    "payment_card": "payment card numbers",
    "iban": "IBANs",
    "ip_address": "IP addresses",
    "person_name": "person names",
    "date_of_birth": "dates of birth",
    "postcode": "postcodes",
}


def _match_count(kind: str, sample: list[str], *, hinted: bool, min_share: float = 0.0) -> int:
    """How many sampled values pass the kind's check; stops early once ``min_share`` is out of reach
    (the count returned is then a lower bound, which is all the caller needs)."""
    check = _checker(kind, hinted)
    max_misses = len(sample) - math.ceil(min_share * len(sample))
    matches = misses = 0
    for value in sample:
        if check(value):
            matches += 1
        else:
            misses += 1
            if misses > max_misses:
                break
    return matches


def _checker(kind: str, hinted: bool) -> Callable[[str], bool]:
    if kind == "phone" and hinted:
        # Under a phone column name, bare 10-15 digit strings are phone numbers too.
        return lambda v: is_phone(v) or (v.lstrip("+").isdigit() and 10 <= len(v.lstrip("+")) <= 15)
    if kind == "ssn" and hinted:
        return lambda v: is_ssn(v) or (v.isdigit() and len(v) == 9 and is_ssn(f"{v[:3]}-{v[3:5]}-{v[5:]}"))
    if kind == "person_name" and hinted:
        return _is_name_part
    if kind == "postcode" and not hinted:
        return _is_distinctive_postcode
    return VALIDATORS[kind]


def _names_vary(sample: list[str], hinted: bool) -> bool:
    """Names are per person: many distinct values (a first-name column repeats more)."""
    distinct = len(set(sample))
    if hinted:
        return distinct >= min(10, len(sample))
    return distinct / len(sample) >= 0.5 and distinct >= min(10, len(sample))


def _mostly_numeric(sample: list[str]) -> bool:
    numeric = pd.to_numeric(pd.Series(sample), errors="coerce").notna().mean()
    return bool(numeric >= MATCH_SHARE)
