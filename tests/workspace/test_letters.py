"""Letters in the workspace: staff word them without the admin and have them made for many cases at once."""

import pytest
from django.urls import reverse

from grants.letters import render_letter
from grants.models import GrantApplication, LetterBatch, LetterKind, LetterTemplate
from tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db


def new_template(client, **fields):
    data = {
        "kind": LetterKind.APPROVAL,
        "subject": "Zuwendungsbescheid {{ application.file_number }}",
        "letterhead": "Stadt Musterstadt\nBauamt",
        "body": "Wir bewilligen {{ application.approved_grant|euro }}.",
        "signatory": "Im Auftrag\nErika Mustermann",
        "legal_remedy_notice": "Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch erhoben werden.",
        **fields,
    }
    return client.post(reverse("workspace:letter_template_new"), data)


def test_a_caseworker_words_the_approval_notice_and_the_next_letter_uses_it(client, people, musterstadt, case):
    client.force_login(people.caseworker)
    form = client.get(reverse("workspace:letter_template_new"), {"kind": "rejection"})
    assert form.status_code == 200
    assert "Rechtsbehelfsbelehrung" in form.content.decode()  # prefilled with the default wording

    response = new_template(client, municipality=musterstadt.pk)
    assert response.status_code == 302
    template = LetterTemplate.objects.get()
    assert template.municipality == musterstadt and template.kind == LetterKind.APPROVAL

    application = case("approved")
    subject, pdf = render_letter(application, LetterKind.APPROVAL)
    assert subject == f"Zuwendungsbescheid {application.file_number}"

    listing = client.get(reverse("workspace:letter_templates")).content.decode()
    assert reverse("workspace:letter_template", args=[template.pk]) in listing
    edit = client.post(
        reverse("workspace:letter_template", args=[template.pk]),
        {**{f: getattr(template, f) for f in ("kind", "letterhead", "body", "signatory", "legal_remedy_notice")},
         "municipality": musterstadt.pk, "subject": "Bescheid {{ application.file_number }}"},
    )  # fmt: skip
    assert edit.status_code == 302
    assert render_letter(application, LetterKind.APPROVAL)[0] == f"Bescheid {application.file_number}"


def test_a_broken_template_is_a_form_error_and_nothing_is_saved(client, people, musterstadt):
    client.force_login(people.caseworker)
    response = new_template(client, municipality=musterstadt.pk, body="{% if %}")
    assert response.status_code == 400
    assert "Fehler in der Vorlage" in response.content.decode()
    assert not LetterTemplate.objects.exists()


def test_staff_word_only_their_own_municipalities_letters(client, people, musterstadt):
    template = LetterTemplate.objects.create(
        municipality=musterstadt,
        kind=LetterKind.RECEIPT,
        subject="Ihr Antrag in Musterstadt",
        body="Text",
        signatory="Amt",
    )
    client.force_login(people.foreign_caseworker)
    assert client.get(reverse("workspace:letter_template", args=[template.pk])).status_code == 404
    assert "Ihr Antrag in Musterstadt" not in client.get(reverse("workspace:letter_templates")).content.decode()
    # Another town's municipality is no choice in the form either.
    response = new_template(client, municipality=musterstadt.pk)
    assert response.status_code == 400 and LetterTemplate.objects.count() == 1
    # A programme of another town cannot be chosen by staff of Musterstadt.
    client.force_login(people.caseworker)
    foreign = ProgrammeFactory(municipality=people.foreign_caseworker.municipalities.get())
    response = new_template(client, municipality=musterstadt.pk, programme=foreign.pk)
    assert response.status_code == 400 and LetterTemplate.objects.count() == 1


def test_finance_and_auditors_read_the_wording_but_do_not_change_it(client, people, musterstadt):
    template = LetterTemplate.objects.create(
        municipality=musterstadt,
        kind=LetterKind.RECEIPT,
        subject="Ihr Antrag in Musterstadt",
        body="Text",
        signatory="Amt",
    )
    for reader in (people.finance, people.auditor):
        client.force_login(reader)
        assert "Ihr Antrag in Musterstadt" in client.get(reverse("workspace:letter_templates")).content.decode()
        assert client.get(reverse("workspace:letter_template", args=[template.pk])).status_code == 403
        assert new_template(client, municipality=musterstadt.pk).status_code == 403
        assert client.post(reverse("workspace:application_letters")).status_code == 403
    assert LetterTemplate.objects.count() == 1 and not LetterBatch.objects.exists()


def test_the_filtered_list_makes_its_missing_letters_in_a_batch(
    client, people, case, programme, django_capture_on_commit_callbacks
):
    approved, submitted = case("approved"), case("submitted")
    client.force_login(people.caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workspace:application_letters") + "?state=approved")
    batch = LetterBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("letter-batch", args=[batch.pk])
    assert list(batch.applications.all()) == [approved]  # the filter holds: the submitted case is not in it
    batch.refresh_from_db()
    assert batch.status == LetterBatch.Status.DONE and batch.created_letters == 2  # what the history calls for
    assert {letter.kind for letter in approved.letters.all()} == {LetterKind.RECEIPT, LetterKind.APPROVAL}
    assert not submitted.letters.exists()
    page = client.get(reverse("letter-batch", args=[batch.pk])).content.decode()
    assert "1 von 1 Anträgen bearbeitet" in page


def test_a_selection_of_drafts_only_makes_nothing_and_says_so(client, people, programme, musterstadt):
    client.force_login(people.caseworker)
    response = client.post(reverse("workspace:application_letters") + "?state=draft", follow=True)
    assert "keinen eingereichten Antrag" in response.content.decode()
    assert not LetterBatch.objects.exists()
    assert GrantApplication.objects.count() == 0
