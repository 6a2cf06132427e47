"""An owner sees and changes only their own applications; any other id is not found. Staff use the workspace."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grants.models import GrantApplication
from tests.factories import add_document

pytestmark = pytest.mark.django_db

PAGES = [
    "portal:application",
    "portal:step_applicant",
    "portal:step_property",
    "portal:step_measures",
    "portal:step_documents",
    "portal:step_review",
    "portal:withdraw",
    "portal:final_documents",
]


@pytest.mark.parametrize("name", [*PAGES, "portal:measures_preview"])
def test_another_owner_gets_404_on_every_page_of_the_application(client, people, draft, name):
    client.force_login(people.other_owner)
    assert client.get(reverse(name, args=[draft.pk])).status_code in (404, 405)
    assert client.post(reverse(name, args=[draft.pk]), {"confirm": "on", "kind": "quote"}).status_code == 404
    draft.refresh_from_db()
    assert draft.state == GrantApplication.State.DRAFT


@pytest.mark.parametrize("name", PAGES)
def test_a_missing_id_is_404_alike(client, people, name):
    client.force_login(people.owner)
    assert client.get(reverse(name, args=[999999])).status_code == 404


def test_another_owner_cannot_fetch_the_documents_or_upload(client, people, draft):
    document = add_document(draft, "quote")
    client.force_login(people.other_owner)
    assert client.get(reverse("portal:document", args=[document.pk])).status_code == 404
    response = client.post(
        reverse("portal:step_documents", args=[draft.pk]),
        {"kind": "quote", "files": [SimpleUploadedFile("a.pdf", b"%PDF-1.4")]},
    )
    assert response.status_code == 404
    assert draft.documents.count() == 1


def test_the_owner_opens_their_own_pages(alice_client, draft):
    for name in ["portal:application", "portal:step_applicant", "portal:step_measures", "portal:step_review"]:
        assert alice_client.get(reverse(name, args=[draft.pk])).status_code == 200


@pytest.mark.parametrize("who", ["caseworker", "approver", "finance", "auditor"])
def test_staff_use_the_workspace_not_the_portal(client, people, draft, who):
    client.force_login(getattr(people, who))
    assert client.get(reverse("portal:applications")).status_code == 403
    response = client.get(reverse("portal:application", args=[draft.pk]))
    assert response.status_code == 403
    assert "Arbeitsplatz" in response.content.decode()


def test_anonymous_visitors_are_asked_to_log_in(client, draft):
    response = client.get(reverse("portal:application", args=[draft.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_new_application_cannot_borrow_another_owners_applicant_record(client, people, programme):
    client.force_login(people.other_owner)
    url = reverse("portal:new_property", args=[programme.pk]) + f"?antragsteller={people.alice.pk}"
    assert client.get(url).status_code == 404
