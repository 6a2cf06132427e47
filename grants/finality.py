"""When a notice is deemed notified, when its appeal deadline ends and when it becomes final: dates only.

Pure functions of dates, the municipality's state and the rules of deemed notification, so every reading of the
law is testable by hand (docs/domain.md, "Finality of notices (Bestandskraft), objection and lawsuit"):

- § 41 (2) VwVfG: a notice posted (or sent by e-mail) is deemed notified on the N-th day after posting; N is the
  rule valid on the posting day for the state (a row of its own), else the federal one (3 days until 2024, 4 since
  1 January 2025).
- § 41 (2a) VwVfG: a notice retrieved in the portal is deemed notified on the day after the retrieval.
- Reading of this project: a deemed date on a Saturday, Sunday or public holiday moves to the next working day
  (§ 31 (3) VwVfG applied to the fiction, as the BFH reads § 122 (2) AO with § 108 (3) AO).
- §§ 70, 74 VwGO: the appeal deadline is one month from notification; § 58 (2) VwGO: one year where the notice has
  no legal remedy notice. §§ 187 (1), 188 (2), (3) BGB count it; § 57 (2) VwGO with § 222 (2) ZPO (§ 193 BGB) moves
  an end on a Saturday, Sunday or public holiday of the state to the next working day.
- Final (bestandskräftig) on the day after the deadline, on the day a waiver of appeal is received, or after the
  decision of an appeal (the day after it); never while an appeal is pending, never once an appeal was granted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import holidays
from dateutil.relativedelta import relativedelta

FEDERAL = "BUND"


class Via(StrEnum):
    POST = "post"
    EMAIL = "email"
    PORTAL = "portal"


@dataclass(frozen=True)
class DeemedRule:
    """On the N-th day after posting (``days``), for posting days from ``valid_from``, in ``jurisdiction``."""

    jurisdiction: str  # a state code or FEDERAL
    valid_from: date
    days: int


# § 41 (2) VwVfG: the third day after posting, the fourth since the Postrechtsmodernisierungsgesetz (1 Jan 2025).
FEDERAL_RULES = (
    DeemedRule(FEDERAL, date(1977, 1, 1), 3),
    DeemedRule(FEDERAL, date(2025, 1, 1), 4),
)


def deemed_days(rules: Iterable[DeemedRule], state: str, posted_on: date) -> int:
    """The days after posting of the rule valid on the posting day: the state's own rows, else the federal ones."""
    # The federal rule of the statute itself comes last: a table emptied or never filled never stops a notice.
    rules = [*rules, *FEDERAL_RULES]
    for jurisdiction in (state, FEDERAL) if state else (FEDERAL,):
        valid = [r for r in rules if r.jurisdiction == jurisdiction and r.valid_from <= posted_on]
        if valid:
            # The latest valid-from wins; of equal ones the table's row (it comes first) before the statute's.
            return max(valid, key=lambda r: r.valid_from).days
    raise ValueError(f"No rule of deemed notification for {state or FEDERAL} on {posted_on}")


@cache
def _holidays(state: str, year: int) -> frozenset[date]:
    # Without a state: the holidays of the whole country only.
    return frozenset(holidays.country_holidays("DE", subdiv=state or None, years=year))


def is_working_day(day: date, state: str) -> bool:
    """Monday to Friday and no public holiday of the state (of the country where no state is set)."""
    return day.weekday() < 5 and day not in _holidays(state, day.year)


def next_working_day(day: date, state: str) -> date:
    """The day itself if it is a working day, else the next one (§ 193 BGB, § 222 (2) ZPO, § 31 (3) VwVfG)."""
    while not is_working_day(day, state):
        day += timedelta(days=1)
    return day


def notified_on(via: str, sent_on: date, state: str, days: int) -> date:
    """The deemed day of notification of a notice sent (posted, e-mailed) or retrieved in the portal on ``sent_on``."""
    deemed = sent_on + timedelta(days=1 if via == Via.PORTAL else days)
    return next_working_day(deemed, state)


def appeal_deadline(notified: date, state: str, *, remedy_notice: bool) -> date:
    """The last day to lodge an objection or a lawsuit: a month (a year without a remedy notice) after notification.

    relativedelta keeps the day of the month and takes the month's last day where it has none (§ 188 (2), (3) BGB).
    """
    end = notified + relativedelta(months=1 if remedy_notice else 12)
    return next_working_day(end, state)


class Standing(StrEnum):
    UNSENT = "unsent"  # no sending recorded: no deadline runs
    OPEN = "open"  # the deadline runs
    PENDING = "pending"  # an objection or lawsuit is pending
    SET_ASIDE = "set_aside"  # an appeal was granted: the notice does not stand as it was
    FINAL = "final"  # bestandskräftig


GRANTED = "granted"
PENDING = "pending"


def final_on(
    *, deadline: date | None, waiver_on: date | None, appeals: Iterable[tuple[str, date | None]]
) -> date | None:
    """The day the notice becomes (or became) final; None while it cannot be said (unsent, pending, set aside).

    ``appeals``: (outcome, decided_on) of every appeal against the notice.
    """
    appeals = list(appeals)
    if any(outcome == PENDING for outcome, _ in appeals) or any(outcome == GRANTED for outcome, _ in appeals):
        return None
    if waiver_on is not None:
        return waiver_on
    if deadline is None:
        return None
    final = deadline + timedelta(days=1)
    decided = [on for _, on in appeals if on is not None]
    return max([final, *(on + timedelta(days=1) for on in decided)])


def standing(*, sent: bool, final: date | None, appeals: Iterable[tuple[str, date | None]], today: date) -> Standing:
    outcomes = [outcome for outcome, _ in appeals]
    if PENDING in outcomes:
        return Standing.PENDING
    if GRANTED in outcomes:
        return Standing.SET_ASIDE
    if final is not None and final <= today:
        return Standing.FINAL
    return Standing.OPEN if sent or final is not None else Standing.UNSENT
