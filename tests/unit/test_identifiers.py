"""Fake identifiers: format-valid per kind, reserved ranges, seeded, independent of real data."""

from __future__ import annotations

import inspect
import ipaddress
import re

import numpy as np
import pandas as pd
import pytest

from app.engine import pii
from app.engine.identifiers import FIRST_NAMES, TEST_CARD_BIN, fake_values
from app.engine.pii import detect_pii

N = 500

VALIDATORS = {
    "email": pii.is_email,
    "phone": pii.is_phone,
    "ssn": lambda v: pii.is_ssn(v, issued_only=False),
    "payment_card": pii.is_payment_card,
    "iban": pii.is_iban,
    "ip_address": pii.is_ip_address,
    "ipv6": pii.is_ip_address,
    "person_name": pii.is_person_name,
    "date_of_birth": pii.is_birth_date,
    "postcode": pii.is_postcode,
}


def draw(kind: str | None, n: int = N, seed: int = 11) -> list[str]:
    return fake_values(kind, n, np.random.default_rng(seed))


@pytest.mark.parametrize("kind", sorted(VALIDATORS))
def test_every_value_passes_our_validator(kind: str) -> None:
    values = draw(kind)
    assert len(values) == N
    assert all(isinstance(v, str) for v in values)
    bad = [v for v in values if not VALIDATORS[kind](v)]
    assert bad == []


@pytest.mark.parametrize("kind", ["email", "phone", "payment_card", "iban", "ip_address", "person_name", "postcode"])
def test_detector_recognises_the_fakes(kind: str) -> None:
    # Bare 5-digit ZIPs are only postcodes under a postcode-like column name.
    finding = detect_pii("zip" if kind == "postcode" else "value", pd.Series(draw(kind)))
    assert finding is not None and finding.kind == kind


def test_reserved_ranges() -> None:
    assert all(v.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"} for v in draw("email"))
    assert all(re.fullmatch(r"\(\d{3}\) 555-01\d\d", v) for v in draw("phone"))
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    assert all(any(ipaddress.ip_address(v) in net for net in docs) for v in draw("ip_address"))
    v6 = ipaddress.ip_network("2001:db8::/32")
    assert all(ipaddress.ip_address(v) in v6 for v in draw("ipv6"))
    assert all(v.startswith(TEST_CARD_BIN) and len(v) == 16 for v in draw("payment_card"))


def test_fake_ssns_can_never_be_real_ones() -> None:
    values = draw("ssn")
    # 9xx areas are never issued, so no fake can equal a real SSN ...
    assert not any(pii.is_ssn(v) for v in values)
    # ... and groups 01-49 stay clear of the IRS's ITIN groups in the same areas.
    assert all(v.startswith("9") and 1 <= int(v[4:6]) <= 49 for v in values)


def test_dates_of_birth_are_iso_and_plausible() -> None:
    years = [int(v[:4]) for v in draw("date_of_birth")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v) for v in draw("date_of_birth"))
    assert 1930 <= min(years) and max(years) <= 2005


@pytest.mark.parametrize("kind", [None, "passport_number", "identifier"])
def test_unknown_kinds_get_opaque_ids(kind: str | None) -> None:
    values = draw(kind)
    assert all(re.fullmatch(r"ID-\d{12}", v) for v in values)
    assert len(set(values)) == N


@pytest.mark.parametrize("kind", ["email", "payment_card", "iban", None])
def test_unique_kinds_are_unique(kind: str | None) -> None:
    values = draw(kind, n=20_000)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize("kind", [*sorted(VALIDATORS), None])
def test_same_generator_state_gives_same_values(kind: str | None) -> None:
    assert draw(kind, seed=5) == draw(kind, seed=5)
    assert draw(kind, seed=5) != draw(kind, seed=6)
    rng = np.random.default_rng(5)
    first, second = fake_values(kind, 50, rng), fake_values(kind, 50, rng)
    assert first != second  # the generator advances


def test_values_depend_only_on_the_generator() -> None:
    # The function has no parameter through which real data could enter.
    assert list(inspect.signature(fake_values).parameters) == ["kind", "n", "rng"]
    real_emails = {"ada.lovelace@gmail.com", "grace@navy.mil", "alan.turing@cam.ac.uk"}
    real_ssns = {"123-45-6789", "078-05-1120", "219-09-9999"}
    real_cards = {"4111111111111111", "5555555555554444", "378282246310005"}
    emails = set(draw("email", n=5000))
    assert not emails & real_emails
    assert not set(draw("ssn", n=5000)) & real_ssns
    assert not set(draw("payment_card", n=5000)) & real_cards


def test_names_come_from_the_builtin_list() -> None:
    names = draw("person_name")
    assert {n.split()[0] for n in names} <= set(FIRST_NAMES)


def test_sizes() -> None:
    assert fake_values("email", 0, np.random.default_rng(0)) == []
    with pytest.raises(ValueError, match="n must be"):
        fake_values("email", -1, np.random.default_rng(0))
