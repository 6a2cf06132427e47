"""Interest under § 49a (3) VwVfG: five points above the base rate, cut at each change of the rate and each year.

The expected figures are computed by hand in each test: amount × rate × days / days of the year, per piece.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from budgets.interest import MissingBaseRate, interest_49a
from budgets.models import BaseRate

pytestmark = pytest.mark.django_db

D = Decimal


def test_two_base_rate_periods_in_one_year():
    # 10,000 € from 1 May 2025, repaid on 1 September 2025: interest for 1 May – 31 August.
    # 1 May – 30 Jun: 61 days at 2.27 + 5 = 7.27 %: 10,000 × 0.0727 × 61/365 = 44,347/365 = 121.4986…
    # 1 Jul – 31 Aug: 62 days at 1.27 + 5 = 6.27 %: 10,000 × 0.0627 × 62/365 = 38,874/365 = 106.5041…
    # together 83,221/365 = 228.0027… → 228.00 €
    result = interest_49a(D("10000.00"), from_day=date(2025, 5, 1), until=date(2025, 9, 1))
    assert [(p.start, p.end, p.rate, p.days) for p in result.pieces] == [
        (date(2025, 5, 1), date(2025, 6, 30), D("7.27"), 61),
        (date(2025, 7, 1), date(2025, 8, 31), D("6.27"), 62),
    ]
    assert [p.rounded for p in result.pieces] == [D("121.50"), D("106.50")]
    assert result.total == D("228.00") and result.days == 123


def test_across_the_turn_of_a_year_into_a_leap_year():
    # 5,000 € from 1 December 2023 to 29 February 2024 (repaid 1 March 2024).
    # Dec 2023: 31 days at 3.12 + 5 = 8.12 % of a 365-day year: 5,000 × 0.0812 × 31/365 = 12,586/365 = 34.4822…
    # Jan–Feb 2024: 60 days at 3.62 + 5 = 8.62 % of a 366-day year: 5,000 × 0.0862 × 60/366 = 25,860/366 = 70.6557…
    # together 105.1379… → 105.14 €
    result = interest_49a(D("5000.00"), from_day=date(2023, 12, 1), until=date(2024, 3, 1))
    assert [(p.days, p.year_days, p.rate) for p in result.pieces] == [(31, 365, D("8.12")), (60, 366, D("8.62"))]
    assert result.total == D("105.14")


def test_a_negative_base_rate_lowers_the_rate_and_then_it_rises():
    # 1,000 € from 1 December 2022 to 31 January 2023.
    # Dec 2022: 31 days at −0.88 + 5 = 4.12 %: 1,000 × 0.0412 × 31/365 = 1,277.2/365 = 3.4992…
    # Jan 2023: 31 days at 1.62 + 5 = 6.62 %: 1,000 × 0.0662 × 31/365 = 2,052.2/365 = 5.6225…
    # together 3,329.4/365 = 9.1216… → 9.12 €
    result = interest_49a(D("1000.00"), from_day=date(2022, 12, 1), until=date(2023, 2, 1))
    assert [p.rate for p in result.pieces] == [D("4.12"), D("6.62")]
    assert result.total == D("9.12")


def test_no_interest_before_the_notice_ceased_to_have_effect():
    assert interest_49a(D("1000.00"), from_day=date(2025, 3, 1), until=date(2025, 3, 1)).total == D("0.00")
    assert interest_49a(D("1000.00"), from_day=date(2025, 3, 1), until=date(2025, 2, 1)).pieces == ()


def test_a_day_without_a_published_rate_is_refused_with_the_rate_to_add():
    last = BaseRate.objects.order_by("-valid_from").first()
    assert last.valid_from == date(2026, 1, 1)
    with pytest.raises(MissingBaseRate, match="ab 01.07.2026"):
        interest_49a(D("1000.00"), from_day=date(2026, 6, 1), until=date(2026, 8, 1))
    call_command("add_base_rate", "2026-07-01", "1,27", stdout=StringIO())
    assert interest_49a(D("1000.00"), from_day=date(2026, 6, 1), until=date(2026, 8, 1)).days == 61


def test_the_command_adds_a_rate_once_and_only_for_a_half_year():
    out = StringIO()
    call_command("add_base_rate", "2027-01-01", "-0.5", stdout=out)
    assert "Basiszinssatz ab 01.01.2027: -0.5 %" in out.getvalue()
    assert BaseRate.objects.get(valid_from=date(2027, 1, 1)).rate_percent == D("-0.50")
    with pytest.raises(CommandError, match="schon"):
        call_command("add_base_rate", "2027-01-01", "1,00")
    call_command("add_base_rate", "2027-01-01", "1,00", "--replace", stdout=StringIO())
    assert BaseRate.objects.get(valid_from=date(2027, 1, 1)).rate_percent == D("1.00")
    with pytest.raises(CommandError, match="1. Januar und zum 1. Juli"):
        call_command("add_base_rate", "2027-03-01", "1,00")
    with pytest.raises(CommandError, match="kein Prozentsatz"):
        call_command("add_base_rate", "2027-07-01", "viel")
