"""Allocations through the API and the admin: shares as exact fractions, set by finance, fixed once booked."""

from decimal import Decimal

import pytest

from budgets.models import Allocation, LedgerEntry
from tests.factories import ProgrammeFactory, advance, make_application

pytestmark = pytest.mark.django_db
THIRDS = {"federal_share": "1/3", "state_share": "1/3", "municipal_share": "1/3", "private_share": "0"}


def test_finance_creates_an_allocation_in_thirds_and_reads_them_back_exactly(api, people, programme):
    response = api(people.finance).post(
        "/api/allocations/", {"programme": programme.pk, "year": 2031, "amount": "90000.00", **THIRDS}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [body[f"{s}_share"] for s in ("federal", "state", "municipal", "private")] == ["1/3", "1/3", "1/3", "0"]
    assert body["federal_percent"] == "33.3333" and body["available"] == "90000.00"
    allocation = Allocation.objects.get(pk=body["id"])
    assert (allocation.federal_parts, allocation.share_whole) == (1, 3)


def test_shares_as_per_cents_are_taken_too_and_must_make_exactly_one(api, people, programme):
    client = api(people.finance)
    base = {"programme": programme.pk, "year": 2032, "amount": "1000.00"}
    shares = {"federal_share": "0", "state_share": "60 %", "municipal_share": "40,00", "private_share": "0"}
    assert client.post("/api/allocations/", {**base, **shares}, format="json").json()["state_share"] == "3/5"
    short = {**THIRDS, "municipal_share": "33,33"}
    response = client.post("/api/allocations/", {**base, "year": 2033, **short}, format="json")
    assert response.status_code == 400 and "genau 1" in response.json()["detail"]
    response = client.post("/api/allocations/", {**base, "year": 2033, **THIRDS, "state_share": "ein Drittel"},
                           format="json")  # fmt: skip
    assert response.status_code == 400 and "state_share" in response.json()["fields"]
    primes = {"federal_share": "1/999999999989", "state_share": "1/999999999959", "municipal_share": "1/999999999961",
              "private_share": "999999999999/1000000000000"}  # fmt: skip
    response = client.post("/api/allocations/", {**base, "year": 2033, **primes}, format="json")
    assert response.status_code == 400  # too fine a split, or not one: never a 500 from an integer overflow
    assert not Allocation.objects.filter(year=2033).exists()


@pytest.mark.parametrize("persona", ["caseworker", "approver", "auditor", "owner"])
def test_only_finance_sets_allocations(api, people, programme, persona):
    response = api(getattr(people, persona)).post(
        "/api/allocations/", {"programme": programme.pk, "year": 2031, "amount": "1.00", **THIRDS}, format="json"
    )
    assert response.status_code == 403 and response.json()["detail"]
    assert not Allocation.objects.filter(year=2031).exists()


def test_finance_of_another_town_cannot_give_this_town_an_allocation(api, people, musterstadt):
    from tests.factories import MunicipalityFactory, UserFactory

    elsewhere = ProgrammeFactory(municipality=MunicipalityFactory(name="Fernstadt"))
    response = api(people.finance).post(
        "/api/allocations/", {"programme": elsewhere.pk, "year": 2031, "amount": "1.00", **THIRDS}, format="json"
    )
    assert response.status_code == 400 and "programme" in response.json()["fields"]
    foreign = UserFactory(roles=["finance"], municipalities=[elsewhere.municipality])
    mine = Allocation.objects.create(programme=ProgrammeFactory(municipality=musterstadt), year=2031,
                                     amount=Decimal("5.00"), state_share="1/1")  # fmt: skip
    assert api(foreign).patch(f"/api/allocations/{mine.pk}/", {"amount": "9.00"}, format="json").status_code == 404
    assert Allocation.objects.get(pk=mine.pk).amount == Decimal("5.00")


def test_once_booked_the_shares_stay_and_the_amount_keeps_what_is_committed(api, people, programme, allocation):
    advance(make_application(programme=programme, applicant=people.alice), "approved", people)
    client = api(people.finance)
    url = f"/api/allocations/{allocation.pk}/"
    response = client.patch(url, THIRDS, format="json")
    assert response.status_code == 409 and "stehen fest" in response.json()["detail"]
    response = client.patch(url, {"amount": "7000.00"}, format="json")  # 7,200 € are committed
    assert response.status_code == 409 and "nicht unter das Gebundene" in response.json()["detail"]
    assert client.patch(url, {"amount": "150000.00"}, format="json").status_code == 200
    allocation.refresh_from_db()
    assert allocation.amount == Decimal("150000.00") and allocation.federal_percent == Decimal("33.3400")
    assert LedgerEntry.objects.count() == 1


def test_the_admin_takes_thirds_and_refuses_shares_that_do_not_make_one(client, django_user_model, programme):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123456")
    client.force_login(admin)
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=admin, confirmed=True, name="Test")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    form = {"programme": programme.pk, "year": 2034, "amount": "3000.00", "federal": "1/3", "state": "1/3",
            "municipal": "1/3", "private": "",
            # The budget years' cash, inline: none given, the whole amount is the programme year's.
            "cash_frames-TOTAL_FORMS": "0", "cash_frames-INITIAL_FORMS": "0"}  # fmt: skip
    wrong = client.post("/admin/budgets/allocation/add/", {**form, "municipal": "1/4"})
    assert wrong.status_code == 200 and "genau 1 (100 %) ergeben" in wrong.content.decode()
    # Cash per budget year that does not add up to the amount is refused with both sums.
    frames = {"cash_frames-TOTAL_FORMS": "2", "cash_frames-0-year": "2034", "cash_frames-0-amount": "1000.00",
              "cash_frames-1-year": "2035", "cash_frames-1-amount": "1500.00"}  # fmt: skip
    short = client.post("/admin/budgets/allocation/add/", {**form, **frames})
    assert short.status_code == 200 and "2.500,00 €, die Mittelausstattung 3.000,00 €" in short.content.decode()
    assert not Allocation.objects.filter(year=2034).exists()
    done = client.post("/admin/budgets/allocation/add/", {**form, **frames, "cash_frames-1-amount": "2000.00"})
    assert done.status_code == 302, done.content.decode()[-2000:]
    allocation = Allocation.objects.get(year=2034)
    assert allocation.shares_display == "Bund 1/3 · Land 1/3 · Kommune 1/3"
    assert list(allocation.cash_frames.values_list("year", "amount")) == [
        (2034, Decimal("1000.00")), (2035, Decimal("2000.00")),
    ]  # fmt: skip
