from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budgets.shares import split_by_shares

D = Decimal
THIRDS = {"federal": D("33.34"), "state": D("33.33"), "municipal": D("33.33"), "private": D("0")}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("100.00", ("33.34", "33.33", "33.33", "0.00")),
        ("0.01", ("0.01", "0.00", "0.00", "0.00")),
        ("7200.00", ("2400.48", "2399.76", "2399.76", "0.00")),
    ],
)
def test_thirds_split_to_the_cent(amount, expected):
    assert tuple(split_by_shares(D(amount), THIRDS).values()) == tuple(D(e) for e in expected)


def test_the_largest_remainder_gets_the_cent():
    shares = {"federal": D("0"), "state": D("60"), "municipal": D("40"), "private": D("0")}
    assert split_by_shares(D("0.05"), shares) == {
        "federal": D("0"),
        "state": D("0.03"),
        "municipal": D("0.02"),
        "private": D("0"),
    }


@st.composite
def percents(draw):
    # Four shares in hundredths of a per cent that sum to exactly 100 %.
    cuts = sorted(draw(st.lists(st.integers(0, 10000), min_size=3, max_size=3)))
    parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 10000 - cuts[2]]
    return dict(zip(("federal", "state", "municipal", "private"), (D(p) / 100 for p in parts), strict=True))


@given(st.decimals(min_value=D("0.01"), max_value=D("9999999.99"), places=2), percents())
def test_the_parts_always_add_up_to_the_whole_and_stay_within_a_cent_of_their_share(amount, shares):
    parts = split_by_shares(amount, shares)
    assert sum(parts.values()) == amount
    for share, part in parts.items():
        assert part >= 0
        assert abs(part - amount * shares[share] / 100) < D("0.01")
