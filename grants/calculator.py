"""The grant computation of docs/domain.md as one pure function of guideline and costs.

Nothing here touches the database: the programme turns its guideline into a
``Guideline``, the application its components into ``ComponentCosts``, and the
result says for every component and for the total which rule bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.money import CENT, ZERO

EURO = Decimal("1")


class Bound(models.TextChoices):
    """The rule that fixed an amount."""

    RATE = "rate", _("Fördersatz")
    COST_CAP_PER_M2 = "cost_cap_per_m2", _("Kostenobergrenze je m²")
    GRANT_CAP_PER_M2 = "grant_cap_per_m2", _("Förderhöchstbetrag je m²")
    COMPONENT_CAP = "component_cap", _("Höchstbetrag der Maßnahme")
    PROPERTY_CAP = "property_cap", _("Höchstbetrag je Grundstück")
    MINIMUM = "minimum", _("Bagatellgrenze")
    COMPONENTS = "components", _("Summe der Maßnahmen")


class Rounding(models.TextChoices):
    EURO_DOWN = "euro_down", _("auf volle Euro abrunden")
    CENT = "cent", _("centgenau")


class BuildingCategory(models.TextChoices):
    """Some towns grade the per-m² caps by the building (docs/domain.md): the standard case and two higher grades."""

    STANDARD = "standard", _("Regelfall")
    SPECIAL_VALUE = "special_value", _("Gebäude von besonderer Bedeutung")
    SPECIAL_CASE = "special_case", _("Sonderfall")


@dataclass(frozen=True)
class PerM2Caps:
    """The per-m² caps of one building category; a cap left out is the standard one."""

    cost_cap_per_m2: Decimal | None = None
    grant_cap_per_m2: Decimal | None = None


@dataclass(frozen=True)
class ComponentRule:
    cost_cap_per_m2: Decimal | None = None
    grant_cap_per_m2: Decimal | None = None
    component_cap: Decimal | None = None
    graded: Mapping[str, PerM2Caps] = field(default_factory=dict)

    def per_m2(self, category: str) -> PerM2Caps:
        """The per-m² caps that hold for a building of ``category``."""
        grade = self.graded.get(category)
        if grade is None:
            return PerM2Caps(self.cost_cap_per_m2, self.grant_cap_per_m2)
        return PerM2Caps(
            self.cost_cap_per_m2 if grade.cost_cap_per_m2 is None else grade.cost_cap_per_m2,
            self.grant_cap_per_m2 if grade.grant_cap_per_m2 is None else grade.grant_cap_per_m2,
        )


@dataclass(frozen=True)
class Guideline:
    """Förderrichtlinie: the parameters docs/domain.md lists, each optional but the rate."""

    rate_percent: Decimal
    component_rules: Mapping[str, ComponentRule] = field(default_factory=dict)
    property_cap: Decimal | None = None
    minimum_grant: Decimal | None = None
    minimum_eligible_costs: Decimal | None = None
    minimum_order_volume: Decimal | None = None
    ancillary_cap_percent: Decimal | None = None
    rounding: str = Rounding.EURO_DOWN


@dataclass(frozen=True)
class CostLine:
    net: Decimal
    vat: Decimal = ZERO
    ancillary: bool = False

    def amount(self, *, net: bool) -> Decimal:
        return self.net if net else self.net + self.vat


@dataclass(frozen=True)
class ComponentCosts:
    kind: str
    area_m2: Decimal
    items: Sequence[CostLine]
    category: str = BuildingCategory.STANDARD


@dataclass(frozen=True)
class ComponentResult:
    kind: str
    costs: Decimal
    eligible: Decimal
    grant: Decimal
    bound_by: str
    category: str = BuildingCategory.STANDARD


@dataclass(frozen=True)
class GrantResult:
    components: tuple[ComponentResult, ...]
    costs: Decimal
    eligible: Decimal
    grant: Decimal
    bound_by: str

    @property
    def eligible_for_funding(self) -> bool:
        return self.grant > 0

    def as_dict(self) -> dict:
        return {
            "costs": str(self.costs),
            "eligible": str(self.eligible),
            "grant": str(self.grant),
            "bound_by": self.bound_by,
            "components": [
                {
                    "kind": c.kind,
                    "costs": str(c.costs),
                    "eligible": str(c.eligible),
                    "grant": str(c.grant),
                    "bound_by": c.bound_by,
                    "category": c.category,
                }
                for c in self.components
            ],
        }


def _cents(amount: Decimal) -> Decimal:
    # Never grant a fraction of a cent more than the rule allows: round down.
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def _component_costs(component: ComponentCosts, *, net: bool, ancillary_cap_percent: Decimal | None) -> Decimal:
    construction = sum((i.amount(net=net) for i in component.items if not i.ancillary), ZERO)
    ancillary = sum((i.amount(net=net) for i in component.items if i.ancillary), ZERO)
    if ancillary_cap_percent is not None:
        ancillary = min(ancillary, _cents(construction * ancillary_cap_percent / 100))
    return construction + ancillary


def _compute_component(
    component: ComponentCosts, rule: ComponentRule, guideline: Guideline, *, net: bool
) -> ComponentResult:
    costs = _component_costs(component, net=net, ancillary_cap_percent=guideline.ancillary_cap_percent)
    eligible, bound_by = costs, Bound.RATE
    per_m2 = rule.per_m2(component.category)
    if per_m2.cost_cap_per_m2 is not None:
        cost_cap = _cents(per_m2.cost_cap_per_m2 * component.area_m2)
        if cost_cap < eligible:
            eligible, bound_by = cost_cap, Bound.COST_CAP_PER_M2
    grant = _cents(eligible * guideline.rate_percent / 100)
    caps = []
    if per_m2.grant_cap_per_m2 is not None:
        caps.append((_cents(per_m2.grant_cap_per_m2 * component.area_m2), Bound.GRANT_CAP_PER_M2))
    if rule.component_cap is not None:
        caps.append((rule.component_cap, Bound.COMPONENT_CAP))
    for cap, bound in caps:
        if cap < grant:
            grant, bound_by = cap, bound
    return ComponentResult(component.kind, costs, eligible, grant, str(bound_by), str(component.category))


def compute_grant(guideline: Guideline, components: Sequence[ComponentCosts], *, net: bool) -> GrantResult:
    """Compute the grant of one application by its programme's guideline.

    ``net`` is true when the applicant may deduct input VAT: then costs count net,
    otherwise gross, before any per-m² comparison (docs/domain.md, "Grant computation").
    """
    results = tuple(
        _compute_component(c, guideline.component_rules.get(c.kind, ComponentRule()), guideline, net=net)
        for c in components
    )
    costs = sum((r.costs for r in results), ZERO)
    eligible = sum((r.eligible for r in results), ZERO)
    total = sum((r.grant for r in results), ZERO)
    rules_that_bound = {r.bound_by for r in results}
    bound_by = rules_that_bound.pop() if len(rules_that_bound) == 1 else str(Bound.COMPONENTS)
    if guideline.property_cap is not None and guideline.property_cap < total:
        total, bound_by = guideline.property_cap, str(Bound.PROPERTY_CAP)
    if guideline.rounding == Rounding.EURO_DOWN:
        total = total.quantize(EURO, rounding=ROUND_DOWN)
    total = total.quantize(CENT)

    below_minimum = (
        not results
        or (guideline.minimum_order_volume is not None and costs < guideline.minimum_order_volume)
        or (guideline.minimum_eligible_costs is not None and eligible < guideline.minimum_eligible_costs)
        or (guideline.minimum_grant is not None and total < guideline.minimum_grant)
    )
    if below_minimum:
        total, bound_by = ZERO, str(Bound.MINIMUM)
    return GrantResult(results, costs, eligible, total, bound_by)
