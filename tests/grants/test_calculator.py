"""The grant computation on the worked examples of docs/domain.md, and properties that hold for any guideline."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grants.calculator import Bound, ComponentCosts, ComponentRule, CostLine, Guideline, Rounding, compute_grant

D = Decimal

# Rate 50 %, grant cap 40 €/m² of façade, property cap 15,000 €, minimum grant 1,000 €, round down.
WORKED = Guideline(
    rate_percent=D("50"),
    component_rules={"facade": ComponentRule(grant_cap_per_m2=D("40"))},
    property_cap=D("15000"),
    minimum_grant=D("1000"),
    rounding=Rounding.EURO_DOWN,
)


def facade(area, net, vat="0"):
    return [ComponentCosts("facade", D(area), [CostLine(D(net), D(vat))])]


@pytest.mark.parametrize(
    ("area", "net", "vat", "deducts_vat", "grant", "bound_by"),
    [
        ("180", "35294.12", "6705.88", False, "7200.00", Bound.GRANT_CAP_PER_M2),
        ("420", "35294.12", "6705.88", True, "15000.00", Bound.PROPERTY_CAP),
        ("30", "1848.74", "351.26", False, "1100.00", Bound.RATE),
        ("30", "1596.64", "303.36", False, "0.00", Bound.MINIMUM),
    ],
)
def test_domain_worked_examples(area, net, vat, deducts_vat, grant, bound_by):
    result = compute_grant(WORKED, facade(area, net, vat), net=deducts_vat)
    assert result.grant == D(grant)
    assert result.bound_by == bound_by


def test_gross_costs_count_for_an_owner_without_vat_deduction_and_net_for_one_with():
    without = compute_grant(WORKED, facade("1000", "10000", "1900"), net=False)
    with_deduction = compute_grant(WORKED, facade("1000", "10000", "1900"), net=True)
    assert (without.costs, without.grant) == (D("11900"), D("5950.00"))
    assert (with_deduction.costs, with_deduction.grant) == (D("10000"), D("5000.00"))


def test_a_cost_cap_per_m2_limits_the_eligible_costs():
    guideline = Guideline(rate_percent=D("40"), component_rules={"courtyard": ComponentRule(cost_cap_per_m2=D("60"))})
    result = compute_grant(guideline, [ComponentCosts("courtyard", D("100"), [CostLine(D("9000"))])], net=True)
    assert (result.eligible, result.grant, result.bound_by) == (D("6000.00"), D("2400.00"), Bound.COST_CAP_PER_M2)


def test_a_component_cap_binds_a_single_component_and_the_total_says_components_when_rules_differ():
    guideline = Guideline(
        rate_percent=D("50"),
        component_rules={"shop_window": ComponentRule(component_cap=D("3000")), "facade": ComponentRule()},
        rounding=Rounding.CENT,
    )
    result = compute_grant(
        guideline,
        [
            ComponentCosts("shop_window", D("12"), [CostLine(D("10000"))]),
            ComponentCosts("facade", D("80"), [CostLine(D("1000.01"))]),
        ],
        net=True,
    )
    assert [c.bound_by for c in result.components] == [Bound.COMPONENT_CAP, Bound.RATE]
    assert [c.grant for c in result.components] == [D("3000"), D("500.00")]
    assert (result.grant, result.bound_by) == (D("3500.00"), Bound.COMPONENTS)


def test_ancillary_costs_count_only_up_to_their_share_of_the_construction_costs():
    guideline = Guideline(rate_percent=D("50"), ancillary_cap_percent=D("10"), rounding=Rounding.CENT)
    items = [CostLine(D("20000")), CostLine(D("5000"), ancillary=True)]
    result = compute_grant(guideline, [ComponentCosts("facade", D("100"), items)], net=True)
    assert result.costs == D("22000.00") and result.grant == D("11000.00")


@pytest.mark.parametrize(
    ("guideline", "costs"),
    [
        (Guideline(rate_percent=D("50"), minimum_eligible_costs=D("5000")), "4999.99"),
        (Guideline(rate_percent=D("50"), minimum_order_volume=D("2500")), "2499"),
    ],
)
def test_costs_below_a_minimum_are_not_funded(guideline, costs):
    result = compute_grant(guideline, facade("100", costs), net=True)
    assert (result.grant, result.bound_by) == (D("0.00"), Bound.MINIMUM)


def test_rounding_down_to_whole_euros_or_to_the_cent():
    costs = facade("100", "2001.35")
    assert compute_grant(Guideline(rate_percent=D("50")), costs, net=True).grant == D("1000.00")
    assert compute_grant(Guideline(rate_percent=D("50"), rounding=Rounding.CENT), costs, net=True).grant == D("1000.67")


money = st.decimals(min_value=D("0"), max_value=D("2000000"), places=2, allow_nan=False, allow_infinity=False)
optional_cap = st.none() | st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)
optional_money = st.none() | st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
kinds = st.sampled_from(["facade", "courtyard", "greening", "shop_window"])


@st.composite
def cases(draw):
    rules = {
        kind: ComponentRule(draw(optional_cap), draw(optional_cap), draw(optional_money))
        for kind in ("facade", "courtyard", "greening", "shop_window")
    }
    guideline = Guideline(
        rate_percent=draw(st.decimals(min_value=D("0.01"), max_value=D("100"), places=2)),
        component_rules=rules,
        property_cap=draw(optional_money),
        minimum_grant=draw(st.none() | st.decimals(min_value=D("0"), max_value=D("5000"), places=2)),
        ancillary_cap_percent=draw(st.none() | st.decimals(min_value=D("0"), max_value=D("30"), places=2)),
        rounding=draw(st.sampled_from(Rounding.values)),
    )
    components = [
        ComponentCosts(
            kind,
            draw(st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)),
            draw(st.lists(st.builds(CostLine, money, money, st.booleans()), min_size=1, max_size=4)),
        )
        for kind in draw(st.lists(kinds, min_size=1, max_size=4, unique=True))
    ]
    return guideline, components, draw(st.booleans())


@given(cases())
def test_the_grant_never_exceeds_a_cap_or_the_rate_share_and_is_never_negative(case):
    guideline, components, net = case
    result = compute_grant(guideline, components, net=net)

    assert result.grant >= 0
    assert result.grant == result.grant.quantize(D("0.01"))
    assert result.grant <= sum(c.grant for c in result.components)
    if guideline.property_cap is not None:
        assert result.grant <= guideline.property_cap
    if result.grant > 0 and guideline.minimum_grant is not None:
        assert result.grant >= guideline.minimum_grant
    for component, costs in zip(result.components, components, strict=True):
        rule = guideline.component_rules[costs.kind]
        assert 0 <= component.grant <= component.eligible * guideline.rate_percent / 100
        assert component.eligible <= component.costs
        if rule.cost_cap_per_m2 is not None:
            assert component.eligible <= rule.cost_cap_per_m2 * costs.area_m2
        if rule.grant_cap_per_m2 is not None:
            assert component.grant <= rule.grant_cap_per_m2 * costs.area_m2
        if rule.component_cap is not None:
            assert component.grant <= rule.component_cap


def test_graded_caps_give_a_building_of_special_value_its_higher_per_m2_cap():
    """A town grades the grant cap per m²: 40 € as a rule, 60 € for a building of special value."""
    from grants.calculator import BuildingCategory, PerM2Caps

    rule = ComponentRule(
        grant_cap_per_m2=D("40"), graded={BuildingCategory.SPECIAL_VALUE: PerM2Caps(grant_cap_per_m2=D("60"))}
    )
    guideline = Guideline(rate_percent=D("50"), component_rules={"facade": rule}, property_cap=D("15000"))
    costs = [CostLine(D("35294.12"), D("6705.88"))]

    standard = compute_grant(guideline, [ComponentCosts("facade", D("180"), costs)], net=False)
    special = compute_grant(
        guideline, [ComponentCosts("facade", D("180"), costs, category=BuildingCategory.SPECIAL_VALUE)], net=False
    )
    special_case = compute_grant(
        guideline, [ComponentCosts("facade", D("180"), costs, category=BuildingCategory.SPECIAL_CASE)], net=False
    )

    assert standard.grant == D("7200.00") and standard.bound_by == "grant_cap_per_m2"
    assert special.grant == D("10800.00") and special.bound_by == "grant_cap_per_m2"  # 60 × 180
    assert special.as_dict()["components"][0]["category"] == "special_value"
    assert special_case.grant == D("7200.00")  # not graded for special cases: the standard cap holds


# --- the same examples against guideline versions stored in the database -------------------------

WORKED_EXAMPLES = [
    ("180", "35294.12", "6705.88", False, "7200.00", Bound.GRANT_CAP_PER_M2),
    ("420", "35294.12", "6705.88", True, "15000.00", Bound.PROPERTY_CAP),
    ("30", "1848.74", "351.26", False, "1100.00", Bound.RATE),
    ("30", "1596.64", "303.36", False, "0.00", Bound.MINIMUM),
]


def test_the_factory_programmes_version_1_is_the_worked_example(programme):
    assert programme.current_version.number == 1
    assert programme.current_version.guideline() == WORKED


@pytest.mark.parametrize(("area", "net", "vat", "deducts_vat", "grant", "bound_by"), WORKED_EXAMPLES)
def test_domain_worked_examples_under_a_stored_guideline_version(
    programme, area, net, vat, deducts_vat, grant, bound_by
):
    result = compute_grant(programme.current_version.guideline(), facade(area, net, vat), net=deducts_vat)
    assert (result.grant, result.bound_by) == (D(grant), bound_by)


def test_a_later_version_computes_with_its_own_terms_and_leaves_the_earlier_one_as_it_was(programme, people):
    from datetime import date

    from grants.services import guideline_version_create

    first = programme.current_version
    second = guideline_version_create(
        programme_id=programme.pk, by=people.caseworker, valid_from=date.today(), reason="Ratsbeschluss",
        funding_rate_percent=D("10"),
    )  # fmt: skip
    assert second.number == 2 and second.component_rules.get().grant_cap_per_m2 == D("40.00")
    # 10 % of 42,000 € is 4,200 €, below the per-m² cap of 7,200 €.
    later = compute_grant(second.guideline(), facade("180", "35294.12", "6705.88"), net=False)
    earlier = compute_grant(first.guideline(), facade("180", "35294.12", "6705.88"), net=False)
    assert (later.grant, later.bound_by) == (D("4200.00"), Bound.RATE)
    assert (earlier.grant, earlier.bound_by) == (D("7200.00"), Bound.GRANT_CAP_PER_M2)


def test_a_guideline_that_funds_net_costs_only_ignores_the_vat_of_an_owner_without_deduction(programme, people):
    from grants.models import VatRule

    version = programme.current_version
    version.vat_rule = VatRule.NET
    version.save()
    assert version.counts_net(people.alice) and not people.alice.may_deduct_input_vat
