"""Direct-identifier detection: strict validators, share thresholds, name hints, no false alarms."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.engine import pii
from app.engine.pii import PiiFinding, detect_pii

DATA = Path("/work/shared/data")

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Mary",
    "John",
    "Linus",
    "Hedy",
    "Katherine",
    "Tim",
    "Barbara",
    "Ken",
    "Radia",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Jackson",
    "Smith",
    "Torvalds",
    "Lamarr",
    "Johnson",
    "Liskov",
    "Perlman",
]


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def full_names(n: int) -> pd.Series:
    r = rng()
    return pd.Series([f"{r.choice(FIRST)} {r.choice(LAST)}-{r.choice(LAST)}" for _ in range(n)])


def card_numbers(n: int) -> list[str]:
    r = rng()
    out = []
    for _ in range(n):
        payload = "5" + "".join(str(d) for d in r.integers(0, 10, 14))
        out.append(payload + pii.luhn_check_digit(payload))
    return out


# --- validators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("ada@example.org", True),
        ("first.last+tag@mail.example.co.uk", True),
        ("a@b.io", True),
        ("no-at-sign.example.org", False),
        ("ada@localhost", False),
        ("two@@example.org", False),
        (".lead@example.org", False),
        ("dots..twice@example.org", False),
        ("space in@example.org", False),
    ],
)
def test_is_email(value: str, ok: bool) -> None:
    assert pii.is_email(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("+44 20 7946 0958", True),
        ("+15555550123", True),
        ("(212) 555-0123", True),
        ("212-555-0123", True),
        ("212.555.0123", True),
        ("2125550123", False),  # bare digits: an amount or an id as often as a phone
        ("2021-03-04", False),  # a date
        ("123-45-6789", False),  # an SSN
        ("12345.678901", False),  # a decimal number
        ("555-0123", False),  # too short without area code
        ("+12", False),
        ("call 212-555-0123", False),
    ],
)
def test_is_phone(value: str, ok: bool) -> None:
    assert pii.is_phone(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("123-45-6789", True),
        ("123 45 6789", True),
        ("123456789", True),
        ("000-12-3456", False),  # area 000
        ("666-12-3456", False),  # area 666
        ("912-34-5678", False),  # area 9xx is never issued
        ("123-00-4567", False),  # group 00
        ("123-45-0000", False),  # serial 0000
        ("123-45 6789", False),  # mixed separators
        ("12-345-6789", False),
    ],
)
def test_is_ssn(value: str, ok: bool) -> None:
    assert pii.is_ssn(value) is ok


def test_is_ssn_unissued_area_only_when_asked() -> None:
    assert pii.is_ssn("950-12-3456", issued_only=False)
    assert not pii.is_ssn("666-12-3456", issued_only=False)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("378282246310005", True),  # 15-digit Amex test number
        ("4222222222222", True),  # 13 digits
        ("4111111111111112", False),  # Luhn fails
        ("0000000000000000", False),  # Luhn-valid but one repeated digit
        ("411111111111", False),  # 12 digits
        ("41111111111111111111", False),  # 20 digits
        ("4111x1111y1111z1111", False),
    ],
)
def test_is_payment_card(value: str, ok: bool) -> None:
    assert pii.is_payment_card(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("GB82 WEST 1234 5698 7654 32", True),
        ("GB82WEST12345698765432", True),
        ("DE89 3704 0044 0532 0130 00", True),
        ("gb82 west 1234 5698 7654 32", True),
        ("GB83 WEST 1234 5698 7654 32", False),  # wrong check digits
        ("DE89 3704 0044 0532 0130 01", False),
        ("GB82", False),
        ("1234567890123456", False),
    ],
)
def test_is_iban(value: str, ok: bool) -> None:
    assert pii.is_iban(value) is ok


def test_iban_check_digits_make_valid_ibans() -> None:
    bban = "37040044053201300"
    assert pii.is_iban(f"DE{pii.iban_check_digits('DE', bban)}{bban}")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("192.0.2.1", True),
        ("10.0.0.255", True),
        ("2001:db8::1", True),
        ("::1", True),
        ("256.1.1.1", False),
        ("1.2.3", False),
        ("01.2.3.4", False),  # leading zeros are ambiguous (octal) and refused
        ("12345", False),
        ("1.5", False),
    ],
)
def test_is_ip_address(value: str, ok: bool) -> None:
    assert pii.is_ip_address(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Ada Lovelace", True),
        ("Mary-Ann O'Neil", True),
        ("John F. Kennedy", True),
        ("Ada", False),
        ("Married-civ-spouse", False),
        ("real estate", False),
        ("United States", True),  # shape alone cannot tell: the share and distinctness rules decide
        ("A B C D", False),
        ("Ada Lovelace 2", False),
    ],
)
def test_is_person_name(value: str, ok: bool) -> None:
    assert pii.is_person_name(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("02139", True),
        ("02139-4307", True),
        ("SW1A 1AA", True),
        ("EC1A1BB", True),
        ("K1A 0B1", True),
        ("1011", True),
        ("12", False),
        ("1234567", False),
        ("hello", False),
    ],
)
def test_is_postcode(value: str, ok: bool) -> None:
    assert pii.is_postcode(value) is ok


def test_parse_date_formats_and_invalid_days() -> None:
    assert pii.parse_date("1980-02-29").day == 29
    assert pii.parse_date("29/02/1980").month == 2
    assert pii.parse_date("12/31/1999").day == 31
    assert pii.parse_date("1981-02-29") is None
    assert pii.parse_date("77516") is None
    assert not pii.is_birth_date("1776-07-04")


def test_name_tokens_and_hints() -> None:
    assert pii.name_tokens("customerEmailAddress") == ["customer", "email", "address"]
    assert pii.name_hint("E-Mail") == "email"
    assert pii.name_hint("dateOfBirth") == "date_of_birth"
    assert pii.name_hint("DOB") == "date_of_birth"
    assert pii.name_hint("place_of_birth") is None
    assert pii.name_hint("zip_code") == "postcode"
    assert pii.name_hint("Surname") == "person_name"
    assert pii.name_hint("product_name") is None
    assert pii.name_hint("telephone") == "phone"
    assert pii.name_hint("native-country") is None


# --- detect_pii ----------------------------------------------------------------------------------


def test_detects_email_with_nulls_and_no_name_hint() -> None:
    values = pd.Series([f"user{i}@example.com" for i in range(50)] + [None] * 20)
    finding = detect_pii("contact", values)
    assert finding is not None
    assert (finding.kind, finding.share, finding.confidence) == ("email", 1.0, 0.95)
    assert finding.direct
    hinted = detect_pii("email", values)
    assert hinted is not None and hinted.confidence > finding.confidence


def test_share_threshold() -> None:
    # 70% valid e-mails: below the 0.8 share for values alone, enough with a matching column name.
    values = pd.Series([f"u{i}@example.org" for i in range(70)] + [f"n/a {i}" for i in range(30)])
    assert detect_pii("contact", values) is None
    finding = detect_pii("email", values)
    assert finding is not None and finding.kind == "email"
    assert finding.share == pytest.approx(0.7)
    assert finding.confidence < 0.95


@pytest.mark.parametrize(
    ("name", "values", "kind"),
    [
        ("col", [f"({200 + i}) 555-01{i % 100:02d}" for i in range(60)], "phone"),
        ("mobile", [f"{2125550100 + i}" for i in range(60)], "phone"),
        ("col", [f"{100 + i:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(60)], "ssn"),
        ("ssn", [f"{100 + i:03d}{10 + i % 80:02d}{1000 + i:04d}" for i in range(60)], "ssn"),
        ("col", card_numbers(60), "payment_card"),
        ("col", ["GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00"] * 30, "iban"),
        ("col", [f"203.0.113.{i}" for i in range(60)] + ["2001:db8::7"], "ip_address"),
        ("date_of_birth", [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}" for i in range(60)], "date_of_birth"),
        ("zip", [f"{i:05d}" for i in range(1000, 1060)], "postcode"),
        ("col", ["SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH", "CR2 6XH"] * 10, "postcode"),
    ],
)
def test_detects_each_kind(name: str, values: list[str], kind: str) -> None:
    finding = detect_pii(name, pd.Series(values))
    assert finding is not None
    assert finding.kind == kind
    assert finding.share >= 0.8


def test_card_numbers_stored_as_integers() -> None:
    values = pd.Series([int(v) for v in card_numbers(40)], dtype="int64")
    finding = detect_pii("pan_value", values)
    assert finding is not None and finding.kind == "payment_card"


def test_random_digit_ids_are_not_cards() -> None:
    # About one in ten random numbers passes Luhn: far below the share threshold.
    r = rng()
    values = pd.Series(["".join(str(d) for d in r.integers(0, 10, 16)) for _ in range(500)])
    assert detect_pii("account_ref", values) is None


def test_person_names_by_values_and_by_name() -> None:
    finding = detect_pii("customer", full_names(300))
    assert finding is not None and finding.kind == "person_name"
    assert finding.confidence < 0.95  # names by shape alone are less certain than checksums
    firsts = pd.Series(rng().choice(FIRST, 300))
    # Single first names repeat a lot and are one token: only the column name makes them names.
    assert detect_pii("col", firsts) is None
    hinted = detect_pii("first_name", firsts)
    assert hinted is not None and hinted.kind == "person_name"


def test_names_of_few_distinct_values_are_not_people() -> None:
    # Two-word capitalised categories (countries, cities) repeat: not a per-person value.
    values = pd.Series(["United States", "New Zealand", "South Africa"] * 100)
    assert detect_pii("country", values) is None


def test_birth_hint_needs_dates() -> None:
    countries = pd.Series(["Peru", "Chile", "India", "Kenya"] * 20)
    assert detect_pii("birth_country", countries) is None
    years = pd.Series(list(range(1940, 2000)))
    assert detect_pii("birth_year", years) is None
    # Dates without a birth-like name are ordinary dates, not personal data.
    assert detect_pii("order_date", pd.Series([f"2021-01-{d:02d}" for d in range(1, 29)])) is None


def test_postcode_digits_need_the_name() -> None:
    values = pd.Series([f"{i:05d}" for i in range(10000, 10500)])
    assert detect_pii("amount", values) is None
    finding = detect_pii("postal_code", values)
    assert finding is not None and finding.kind == "postcode" and not finding.direct


def test_name_hint_alone_gives_low_confidence() -> None:
    values = pd.Series([f"ext. {i} / desk" for i in range(100)])
    finding = detect_pii("phone", values)
    assert finding is not None
    assert finding.kind == "phone" and finding.confidence <= 0.5 and finding.share == 0.0
    # German credit's "telephone" is yes/none: a name hint with two values identifies nobody.
    assert detect_pii("telephone", pd.Series(["yes", "none"] * 50)) is None


@pytest.mark.parametrize("dataset", ["adult", "insurance", "german_credit"])
def test_real_datasets_have_no_direct_identifiers(dataset: str) -> None:
    as_text = pd.read_csv(DATA / f"{dataset}.csv", dtype=str, keep_default_na=False)
    native = pd.read_csv(DATA / f"{dataset}.csv")
    for col in as_text.columns:
        assert detect_pii(col, as_text[col]) is None, col
        assert detect_pii(col, native[col]) is None, col


def test_sampling_is_deterministic_and_bounded() -> None:
    values = pd.Series([f"user{i}@example.com" if i % 10 else f"bad {i}" for i in range(20_000)])
    assert len(pii.sample_values(values)) == pii.SAMPLE_SIZE
    assert pii.sample_values(values) == pii.sample_values(values.copy())
    first = detect_pii("contact", values)
    assert first == detect_pii("contact", values)
    assert first is not None and 0.85 <= first.share <= 0.95


def test_empty_and_null_columns() -> None:
    assert detect_pii("email", pd.Series([], dtype=object)) is None
    assert detect_pii("email", pd.Series([None, np.nan, "  "])) is None


def test_finding_is_frozen() -> None:
    finding = PiiFinding("email", 1.0, 0.95, "test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.kind = "phone"  # type: ignore[misc]
