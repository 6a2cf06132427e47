"""The registry of steps: one record per action on an application, and everything derived from it.

A record says what the step is called, which django-fsm transition of ``GrantApplication`` it takes
(``None`` for workspace actions that change no state), who may take it, its words (the workspace's
button, the history row, the API's help), whether it needs a comment, the letter it produces, whether
it tells the owner (by e-mail, with what comes next) and in whose queue a case waits for it.

Rules (``decide``, the workspace's steps), services (which transition a service takes), the API's
step endpoints, the history, labels, letters, notifications and queues all read these records; adding
a step is a record here, its transition on the model and its service in grants.services.

Preconditions of the state machine are django-fsm ``conditions`` on the model's transitions (e.g.
paying needs certified invoices); ``unmet_conditions`` gives the words of those not met. What is
known of django-fsm's internals is used here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from applicants.models import Role

from .models import (
    CHANGE_TO_CHECK,
    CHANGE_TO_DECIDE,
    EXTENSION_REQUESTED,
    IN_HEARING,
    INVOICES_CERTIFIED,
    PROOF_SUBMITTED,
    RECLAIM_OPEN,
    SALE_REPORTED,
    GrantApplication,
    LetterKind,
)

State = GrantApplication.State
Text = str | Promise


@dataclass(frozen=True)
class Queue:
    """Where a case waits for a step: in the queue of ``role``, since ``since`` (a field of the application).

    ``cases`` selects the cases that wait; it may use the ``has_invoice`` annotation of
    grants.selectors.applications_waiting_for.
    """

    role: str
    cases: Q
    since: str


@dataclass(frozen=True)
class Step:
    name: str  # as pages, API and rules call it (the API's URL is the name with dashes)
    # The model's django-fsm transition (django-fsm has no types: Any); None for an action without one.
    transition: Any = None
    staff: frozenset[str] = frozenset()  # the staff roles that may take it
    owner: bool = False  # the owner of the case may take it
    label: Text = ""  # the workspace's button and notice
    history_label: Text = ""  # the history row, where it differs from the label
    help: str = ""  # the API's description; its summary is the words before " ("
    comment_required: Text = ""  # what the service asks for when the comment is missing; "" if optional
    letter: str | None = None  # the LetterKind it produces
    tells_owner: Text = ""  # e-mails the owner (with the comment and the letter) and says what comes next
    queue: Queue | None = None  # where a case waits for this step
    # Four-eyes: the path (Django's lookup, "__" between fields) from the application to the user id that may not
    # also take this step: "checked_by_id" on the case itself, "open_change__checked_by_id" through a relation, or
    # "invoices__certified_by_id" across many rows (anyone of them).
    four_eyes: str = ""
    four_eyes_reason: Text = ""  # and what they are told
    own_form: bool = False  # takes more than a comment: its own page, API endpoint and service arguments
    not_now: Text = ""  # the refusal in a state the step is not possible in, where not the general one

    @property
    def method(self) -> str:
        """The transition's name, as django-fsm-log records it in ``StateLog.transition``."""
        return self.transition.__name__ if self.transition is not None else ""

    @property
    def notifies(self) -> bool:
        return bool(self.tells_owner)

    @property
    def comment_to_applicant(self) -> bool:
        """The comment goes to the applicant with the e-mail (and in the letter) of every step that notifies."""
        return self.notifies

    @property
    def targets(self) -> set[str]:
        """The states the step leads to."""
        if self.transition is None:
            return set()
        targets: set[str] = set()
        for t in self.transition._django_fsm.transitions.values():
            # A target computed at the step (django-fsm's GET_STATE) is one of the states it names.
            targets.update(getattr(t.target, "allowed_states", None) or [t.target])
        return targets

    def four_eyes_refuses(self, application: GrantApplication, user_id: int) -> bool:
        """Whether four-eyes keeps the user (by id) from this step on the application: they took the earlier one."""
        if not self.four_eyes:
            return False
        target: Any = application
        fields = self.four_eyes.split("__")
        for position, name in enumerate(fields):
            if target is None:
                return False
            if hasattr(target, "filter") and hasattr(target, "all"):  # a relation to many: ask the database
                return target.filter(**{"__".join(fields[position:]): user_id}).exists()
            target = getattr(target, name)
        return target == user_id

    def four_eyes_excludes(self, user_id: int) -> Q:
        """The cases four-eyes keeps the user from this step on (for the queues)."""
        return Q(**{self.four_eyes: user_id}) if self.four_eyes else Q(pk__in=[])

    def held_by(self, user) -> bool:
        """Whether one of the user's roles covers the step (tenancy and ownership are grants.rules' concern)."""
        return any(user.has_role(role) for role in self.staff)


_STEPS = (
    # In the order the workspace offers them.
    Step(
        "check",
        GrantApplication.mark_checked,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Als geprüft bestätigen"),
        history_label=_("geprüft"),
        help="Prüfen (Sachbearbeitung): Unterlagen, Fördergebiet, Erstberatung, kein vorzeitiger Beginn, Zuschuss; "
        "bei De-minimis-Programmen der Höchstbetrag in drei Jahren (409 mit den Zahlen, wenn überschritten).",
        tells_owner=_("Ihr Antrag ist vollständig geprüft; über die Bewilligung entscheidet nun eine zweite Person."),
        queue=Queue(Role.CASEWORKER, Q(state=State.SUBMITTED), since="submitted_at"),
    ),
    Step(
        "approve",
        GrantApplication.approve,
        staff=frozenset({Role.APPROVER}),
        label=_("Bewilligen"),
        help="Bewilligen (Bewilligung, nie wer geprüft hat): bindet den Zuschuss in der Mittelausstattung; "
        "409, wenn sie ihn nicht tragen kann oder der De-minimis-Höchstbetrag inzwischen überschritten wäre.",
        letter=LetterKind.APPROVAL,
        tells_owner=_(
            "Sie können mit der Maßnahme beginnen. Reichen Sie nach Abschluss die Schlussrechnungen und Fotos ein."
        ),
        queue=Queue(Role.APPROVER, Q(state=State.CHECKED), since="checked_at"),
        four_eyes="checked_by_id",
        four_eyes_reason=_("Sie haben diesen Antrag geprüft; die Bewilligung muss eine andere Person aussprechen."),
    ),
    Step(
        # An invoice handed in, entered as a row by the owner (an invoice on paper is certified per measure instead).
        "record_invoice",
        GrantApplication.record_invoice,
        owner=True,
        label=_("Rechnung erfassen"),
        history_label=_("Rechnung erfasst"),
        help="Eine Rechnung erfassen (Antragsteller/in, nach der Bewilligung): Nummer, Datum, Rechnungssteller/in, "
        "Maßnahme, Beträge, bezahlt am; eine E-Rechnung muss mit ihren Angaben übereinstimmen.",
        own_form=True,
        not_now=_("Rechnungen werden nach der Bewilligung erfasst, bis die Schlussrechnung festgestellt ist."),
    ),
    Step(
        "certify_invoice",
        GrantApplication.certify_invoice,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Rechnung prüfen"),
        history_label=_("Rechnung sachlich richtig"),
        help="Eine Rechnung prüfen (Sachbearbeitung): förderfähiger Nettobetrag, bei einer Kürzung mit Grund.",
        queue=Queue(
            Role.CASEWORKER,
            Q(state=State.APPROVED, has_uncertified_invoice=True) & ~INVOICES_CERTIFIED,
            since="approved_at",
        ),
        own_form=True,
        not_now=_("Rechnungen werden nach der Bewilligung geprüft."),
    ),
    Step(
        "accept_proof",
        GrantApplication.accept_proof,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Verwendungsnachweis anerkennen"),
        history_label=_("Verwendungsnachweis geprüft"),
        help="Verwendungsnachweis anerkennen (Sachbearbeitung): Sachbericht, Rechnungen und Fotos nach der Maßnahme "
        "sind vollständig; danach wird die Schlussrechnung als sachlich richtig bestätigt.",
        tells_owner=_(
            "Ihr Verwendungsnachweis ist geprüft; nun werden die Schlussrechnungen festgestellt und die Zuwendung "
            "ausgezahlt."
        ),
        queue=Queue(Role.CASEWORKER, Q(state=State.APPROVED) & PROOF_SUBMITTED, since="proof_submitted_at"),
        not_now=_("Verwendungsnachweise gibt es nur zu bewilligten Anträgen."),
    ),
    Step(
        "return_proof",
        GrantApplication.return_proof,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Verwendungsnachweis zur Ergänzung zurückgeben"),
        history_label=_("Verwendungsnachweis zur Ergänzung zurückgegeben"),
        help="Verwendungsnachweis zur Ergänzung zurückgeben (Sachbearbeitung); der Kommentar sagt, was fehlt "
        "(Pflicht). Die Antragsteller/in reicht ihn danach erneut ein.",
        comment_required=_("Bitte schreiben Sie, was am Verwendungsnachweis fehlt."),
        tells_owner=_("Bitte ergänzen Sie Ihren Verwendungsnachweis und reichen Sie ihn erneut ein."),
        not_now=_("Verwendungsnachweise gibt es nur zu bewilligten Anträgen."),
    ),
    Step(
        "certify_invoices",
        GrantApplication.certify_invoices,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Schlussrechnung prüfen"),
        history_label=_("Schlussrechnung sachlich richtig"),
        help="Caseworker, after approval: records the final invoices; payable = min(approved, recomputed).",
        queue=Queue(
            Role.CASEWORKER,
            # Not while an invoice or a submitted proof of use waits for its check: they come first.
            Q(state=State.APPROVED, has_invoice=True, has_uncertified_invoice=False)
            & ~INVOICES_CERTIFIED
            & ~PROOF_SUBMITTED,
            since="approved_at",
        ),
        own_form=True,
        not_now=_("Schlussrechnungen werden erst nach der Bewilligung bestätigt."),
    ),
    Step(
        "pay_partial",
        GrantApplication.pay_partial,
        staff=frozenset({Role.FINANCE}),
        label=_("Abschlag auszahlen"),
        history_label=_("Abschlag ausgezahlt"),
        help="Abschlagszahlung (Kasse, nie wer eine der Rechnungen geprüft hat): auf die geprüften Rechnungen, bis "
        "zum Anteil des Zuschusses, den das Programm vor dem Verwendungsnachweis erlaubt.",
        letter=LetterKind.PARTIAL_PAYMENT,
        tells_owner=_("Der Abschlag wird überwiesen. Den Rest zahlen wir nach der Prüfung der Schlussrechnung aus."),
        queue=Queue(
            Role.FINANCE,
            Q(state=State.APPROVED, has_unpaid_certified_invoice=True, programme__partial_payment_percent__gt=0)
            & ~INVOICES_CERTIFIED,
            since="approved_at",
        ),
        four_eyes="invoices__certified_by_id",
        four_eyes_reason=_(
            "Sie haben eine der Rechnungen als sachlich richtig bestätigt; den Abschlag muss eine andere Person "
            "freigeben."
        ),
        not_now=_("Abschläge werden nur auf bewilligte Anträge gezahlt."),
    ),
    Step(
        "pay",
        GrantApplication.pay,
        staff=frozenset({Role.FINANCE}),
        label=_("Auszahlung freigeben"),
        help="Auszahlen (Kasse, nie wer die Schlussrechnung bestätigt hat).",
        letter=LetterKind.PAYMENT,
        tells_owner=_(
            "Die Zuwendung wird überwiesen. Bitte reichen Sie noch die Fotos nach Abschluss ein, falls nicht geschehen."
        ),
        queue=Queue(Role.FINANCE, Q(state=State.APPROVED) & INVOICES_CERTIFIED, since="invoices_certified_at"),
        four_eyes="invoices_certified_by_id",
        four_eyes_reason=_(
            "Sie haben die Schlussrechnung als sachlich richtig bestätigt; "
            "die Auszahlung muss eine andere Person freigeben."
        ),
    ),
    Step(
        "grant_extension",
        GrantApplication.grant_extension,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Fristverlängerung bewilligen"),
        history_label=_("Fristverlängerung bewilligt"),
        help="Fristverlängerung bewilligen (Sachbearbeitung): die beantragten Fristen gelten; Bescheid an die "
        "Antragsteller/in.",
        letter=LetterKind.EXTENSION,
        tells_owner=_("Die neuen Fristen stehen im beigefügten Bescheid; die Erinnerungen richten sich nach ihnen."),
        queue=Queue(Role.CASEWORKER, Q(state=State.APPROVED) & EXTENSION_REQUESTED, since="extension_requested_at"),
        not_now=_("Fristen werden nur an bewilligten Anträgen verlängert."),
    ),
    Step(
        "refuse_extension",
        GrantApplication.refuse_extension,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Fristverlängerung ablehnen"),
        history_label=_("Fristverlängerung abgelehnt"),
        help="Fristverlängerung ablehnen (Sachbearbeitung) mit Begründung (Pflicht); die bisherigen Fristen gelten.",
        comment_required=_("Bitte begründen Sie die Ablehnung der Fristverlängerung."),
        letter=LetterKind.EXTENSION_REFUSAL,
        tells_owner=_("Es bleibt bei den bisherigen Fristen; die Gründe stehen im beigefügten Bescheid."),
        not_now=_("Fristen werden nur an bewilligten Anträgen verlängert."),
    ),
    Step(
        "check_change",
        GrantApplication.check_change,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Änderungsantrag als geprüft bestätigen"),
        history_label=_("Änderungsantrag geprüft"),
        help="Änderungsantrag prüfen (Sachbearbeitung): über die Änderung entscheidet danach eine zweite Person.",
        queue=Queue(Role.CASEWORKER, Q(state=State.APPROVED) & CHANGE_TO_CHECK, since="open_change__requested_at"),
        not_now=_("Änderungsanträge gibt es nur zu bewilligten Anträgen."),
    ),
    Step(
        "approve_change",
        GrantApplication.approve_change,
        staff=frozenset({Role.APPROVER}),
        label=_("Änderung bewilligen"),
        history_label=_("Änderung bewilligt"),
        help="Änderung bewilligen (Bewilligung, nie wer den Änderungsantrag geprüft hat): Maßnahmen, Kosten und "
        "Fristen ändern sich; ein höherer Zuschuss wird zusätzlich gebunden (409, wenn die Mittelausstattung "
        "ihn nicht trägt), ein geringerer gibt den Unterschied frei.",
        letter=LetterKind.CHANGE,
        tells_owner=_("Es gelten nun die Maßnahmen, Kosten und Fristen aus dem beigefügten Änderungsbescheid."),
        queue=Queue(Role.APPROVER, Q(state=State.APPROVED) & CHANGE_TO_DECIDE, since="open_change__checked_at"),
        four_eyes="open_change__checked_by_id",
        four_eyes_reason=_(
            "Sie haben diesen Änderungsantrag geprüft; die Änderung muss eine andere Person bewilligen."
        ),
        not_now=_("Änderungsanträge gibt es nur zu bewilligten Anträgen."),
    ),
    Step(
        "refuse_change",
        GrantApplication.refuse_change,
        staff=frozenset({Role.CASEWORKER, Role.APPROVER}),
        label=_("Änderungsantrag ablehnen"),
        history_label=_("Änderungsantrag abgelehnt"),
        help="Änderungsantrag ablehnen (Sachbearbeitung oder Bewilligung) mit Begründung (Pflicht); es bleibt "
        "beim bisherigen Bescheid.",
        comment_required=_("Bitte begründen Sie die Ablehnung des Änderungsantrags."),
        letter=LetterKind.CHANGE_REFUSAL,
        tells_owner=_("Es bleibt beim bisherigen Zuwendungsbescheid; die Gründe stehen im beigefügten Bescheid."),
        not_now=_("Änderungsanträge gibt es nur zu bewilligten Anträgen."),
    ),
    Step(
        "document",
        GrantApplication.document,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Abschließen"),
        help="Abschließen (Sachbearbeitung): Fotos nach der Maßnahme liegen vor.",
        tells_owner=_("Ihr Förderfall ist abgeschlossen. Bitte beachten Sie die Zweckbindungsfrist."),
        queue=Queue(Role.CASEWORKER, Q(state=State.PAID), since="paid_at"),
    ),
    # Revocation (Widerruf, Rücknahme) and reclaim, grants.revocations.
    Step(
        "open_revocation",
        GrantApplication.open_revocation_case,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Widerrufsverfahren eröffnen"),
        history_label=_("Widerrufsverfahren eröffnet (Anhörung)"),
        help="Widerrufsverfahren eröffnen (Sachbearbeitung): Grund, Sachverhalt, beabsichtigter Betrag und Frist zur "
        "Äußerung; die Anhörung nach § 28 VwVfG geht an die Antragsteller/in.",
        letter=LetterKind.HEARING,
        tells_owner=_(
            "Bitte äußern Sie sich bis zu der im Schreiben genannten Frist; das geht auch im Portal. Erst danach "
            "wird entschieden."
        ),
        # A sale the owner reported waits here; the form starts from the report.
        queue=Queue(Role.CASEWORKER, SALE_REPORTED, since="sale_reported_at"),
        own_form=True,
        not_now=_("Ein Widerrufsverfahren gibt es nur zu bewilligten oder ausgezahlten Anträgen."),
    ),
    Step(
        "decide_revocation",
        GrantApplication.decide_revocation,
        staff=frozenset({Role.APPROVER}),
        label=_("Über den Widerruf entscheiden"),
        history_label=_("Widerruf entschieden"),
        help="Über den Widerruf entscheiden (Bewilligung, nie wer das Verfahren eröffnet hat), nach der Äußerung oder "
        "dem Ablauf der Frist: Widerruf (§ 49 Abs. 3) oder Rücknahme (§ 48 VwVfG) ganz oder teilweise ab einem Tag, "
        "oder nur Zinsen für verspätete Verwendung (§ 49a Abs. 4); mit Begründung (Pflicht), Erstattung und "
        "Fälligkeit.",
        comment_required=_("Bitte begründen Sie die Entscheidung (§ 39 VwVfG)."),
        letter=LetterKind.REVOCATION,
        tells_owner=_(
            "Die Entscheidung, der zu erstattende Betrag und seine Fälligkeit stehen im beigefügten Bescheid."
        ),
        queue=Queue(
            Role.APPROVER,
            Q(state__in=("approved", "paid", "documented")) & IN_HEARING,
            since="open_revocation__hearing_deadline",
        ),
        four_eyes="open_revocation__opened_by_id",
        four_eyes_reason=_("Sie haben dieses Widerrufsverfahren eröffnet; entscheiden muss eine andere Person."),
        own_form=True,
        not_now=_("Über einen Widerruf wird nur bei bewilligten oder ausgezahlten Anträgen entschieden."),
    ),
    Step(
        "close_revocation",
        GrantApplication.close_revocation,
        staff=frozenset({Role.APPROVER}),
        label=_("Widerrufsverfahren einstellen"),
        history_label=_("Widerrufsverfahren eingestellt"),
        help="Widerrufsverfahren einstellen (Bewilligung, nie wer es eröffnet hat) mit Begründung (Pflicht): der "
        "Bescheid bleibt, wie er ist.",
        comment_required=_("Bitte begründen Sie, warum das Verfahren ohne Widerruf endet."),
        letter=LetterKind.REVOCATION_CLOSED,
        tells_owner=_("Der Zuwendungsbescheid bleibt, wie er ist; es ist nichts weiter zu tun."),
        four_eyes="open_revocation__opened_by_id",
        four_eyes_reason=_("Sie haben dieses Widerrufsverfahren eröffnet; einstellen muss es eine andere Person."),
        not_now=_("Ein Widerrufsverfahren gibt es nur zu bewilligten oder ausgezahlten Anträgen."),
    ),
    Step(
        "book_repayment",
        GrantApplication.book_repayment,
        staff=frozenset({Role.FINANCE}),
        label=_("Rückzahlung buchen"),
        history_label=_("Rückzahlung gebucht"),
        help="Eine eingegangene Rückzahlung buchen (Kasse, nie wer über den Widerruf entschieden hat): erst auf die "
        "Zinsen, dann auf die Hauptforderung (§ 367 BGB, sofern das Programm nichts anderes sagt); die Hauptforderung "
        "als Rückforderung je Finanzierungsanteil.",
        tells_owner=_("Ihre Zahlung ist eingegangen und verbucht."),
        queue=Queue(Role.FINANCE, RECLAIM_OPEN, since="open_revocation__due_on"),
        four_eyes="open_revocation__decided_by_id",
        four_eyes_reason=_("Sie haben über den Widerruf entschieden; die Rückzahlung muss eine andere Person buchen."),
        own_form=True,
        not_now=_("Zu diesem Antrag ist keine Erstattung offen."),
    ),
    Step(
        "remind_reclaim",
        GrantApplication.remind_reclaim,
        staff=frozenset({Role.FINANCE}),
        label=_("Zahlungserinnerung senden"),
        history_label=_("an die Erstattung erinnert"),
        help="An die Erstattung erinnern (Kasse), nach dem Fälligkeitstag: mit dem heute offenen Betrag und den "
        "Zinsen.",
        letter=LetterKind.RECLAIM_REMINDER,
        tells_owner=_("Bitte überweisen Sie den offenen Betrag; die Zinsen laufen bis zum Tag der Zahlung weiter."),
        not_now=_("Zu diesem Antrag ist keine Erstattung offen."),
    ),
    # The commitment period (Zweckbindung), grants.commitment.
    Step(
        "record_inspection",
        GrantApplication.record_inspection,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Vor-Ort-Kontrolle erfassen"),
        history_label=_("Vor-Ort-Kontrolle erfasst"),
        help="Vor-Ort-Kontrolle erfassen (Sachbearbeitung), in der Zweckbindungsfrist: Tag, Befund, Feststellungen und "
        "Fotos; ein Befund mit Beanstandung eröffnet das Widerrufsverfahren mit der Anhörung.",
        own_form=True,
        not_now=_("Kontrolliert wird nur ein ausgezahlter Antrag in seiner Zweckbindungsfrist."),
    ),
    Step(
        "return_to_applicant",
        GrantApplication.return_to_applicant,
        staff=frozenset({Role.CASEWORKER}),
        label=_("Zurück an Antragsteller/in"),
        help="Zurück an Antragsteller/in (Sachbearbeitung); der Kommentar sagt, was fehlt (Pflicht).",
        comment_required=_("Bitte schreiben Sie, was fehlt."),
        letter=LetterKind.DOCUMENTS_REQUEST,
        tells_owner=_("Bitte ergänzen Sie Ihren Antrag und reichen Sie ihn erneut ein."),
    ),
    Step(
        "reject",
        GrantApplication.reject,
        staff=frozenset({Role.CASEWORKER, Role.APPROVER}),
        label=_("Ablehnen"),
        help="Ablehnen (Sachbearbeitung oder Bewilligung) mit Begründung (Pflicht).",
        comment_required=_("Bitte begründen Sie die Ablehnung."),
        letter=LetterKind.REJECTION,
        tells_owner=_("Die Gründe und Ihre Möglichkeit, Widerspruch einzulegen, finden Sie im beigefügten Bescheid."),
    ),
    Step(
        "withdraw",
        GrantApplication.withdraw,
        staff=frozenset({Role.CASEWORKER}),
        owner=True,
        label=_("Im Auftrag zurückziehen"),
        help="Zurückziehen (Antragsteller/in oder Sachbearbeitung) vor der Auszahlung; gibt Bindungen frei.",
        tells_owner=_("Ihr Antrag ist zurückgezogen; es ist nichts weiter zu tun."),
    ),
    # The owner's steps.
    Step(
        "submit",
        GrantApplication.submit,
        owner=True,
        history_label=_("eingereicht"),
        help="Einreichen (Antragsteller/in): vergibt das Aktenzeichen.",
        letter=LetterKind.RECEIPT,
        tells_owner=_("Wir prüfen Ihren Antrag und melden uns, falls etwas fehlt."),
    ),
    Step(
        "request_extension",
        GrantApplication.request_extension,
        owner=True,
        history_label=_("Fristverlängerung beantragt"),
        help="Fristverlängerung beantragen (Antragsteller/in, nach der Bewilligung): neue Durchführungsfrist "
        "und Frist für die Schlussrechnung mit Begründung.",
        own_form=True,
        not_now=_("Eine Fristverlängerung kann nur für einen bewilligten Antrag beantragt werden."),
    ),
    Step(
        "request_change",
        GrantApplication.request_change,
        owner=True,
        history_label=_("Änderungsantrag gestellt"),
        help="Änderungsantrag stellen (Antragsteller/in, nach der Bewilligung): geänderte Maßnahmen, Flächen, "
        "Kosten und Fristen mit Begründung und Unterlagen.",
        own_form=True,
        not_now=_("Ein Änderungsantrag kann nur zu einem bewilligten Antrag gestellt werden."),
    ),
    Step(
        "submit_proof",
        GrantApplication.submit_proof,
        owner=True,
        history_label=_("Verwendungsnachweis eingereicht"),
        help="Verwendungsnachweis einreichen (Antragsteller/in, nach der Bewilligung): Sachbericht und Tag des "
        "Abschlusses der Arbeiten; Schlussrechnungen und Fotos nach der Maßnahme liegen dem Antrag bei.",
        own_form=True,
        not_now=_("Ein Verwendungsnachweis kann nur zu einem bewilligten Antrag eingereicht werden."),
    ),
    Step(
        "answer_hearing",
        GrantApplication.answer_hearing,
        owner=True,
        history_label=_("zur Anhörung geäußert"),
        help="Sich in der Anhörung äußern (Antragsteller/in): was gegen den beabsichtigten Widerruf spricht.",
        own_form=True,
        not_now=_("Zu diesem Antrag läuft keine Anhörung."),
    ),
    Step(
        "report_sale",
        GrantApplication.report_sale,
        owner=True,
        history_label=_("Veräußerung oder Umnutzung gemeldet"),
        help="Eine Veräußerung oder Nutzungsänderung in der Zweckbindungsfrist melden (Antragsteller/in): Tag, "
        "Erwerber/in oder neue Nutzung, ob die Zweckbindung übernommen wird.",
        own_form=True,
        not_now=_("Eine Veräußerung wird nur zu einem ausgezahlten Antrag in seiner Zweckbindungsfrist gemeldet."),
    ),
    Step("edit", owner=True),
    # Workspace actions that are not transitions; the auditor holds none of them (read only).
    Step("note", staff=frozenset({Role.CASEWORKER, Role.APPROVER, Role.FINANCE})),
    Step("link_consultation", staff=frozenset({Role.CASEWORKER})),
    # Re-base a pending case on the programme's newer guideline version, where that version allows it.
    Step("rebase", staff=frozenset({Role.CASEWORKER}), label=_("Auf neue Fassung umstellen")),
    # Reduce a de-minimis case's grant to what the single undertaking's ceiling leaves (grants.deminimis).
    Step("deminimis_reduce", staff=frozenset({Role.CASEWORKER}), label=_("Auf den De-minimis-Restbetrag kürzen")),
    # Auskunft nach Art. 15 DSGVO about the case's applicant, limited to the municipality's cases.
    Step("export_personal_data", staff=frozenset({Role.CASEWORKER})),
    # Finality of notices (grants.finality): the posting date, a waiver, an objection or lawsuit and its decision.
    Step("record_sending", staff=frozenset({Role.CASEWORKER}), label=_("Versand erfassen")),
    Step("record_waiver", staff=frozenset({Role.CASEWORKER}), label=_("Rechtsbehelfsverzicht erfassen")),
    Step(
        "record_remedy_defect",
        staff=frozenset({Role.CASEWORKER}),
        label=_("Rechtsbehelfsbelehrung als unrichtig erfassen"),
    ),
    Step("record_appeal", staff=frozenset({Role.CASEWORKER}), label=_("Widerspruch oder Klage erfassen")),
    Step("decide_appeal", staff=frozenset({Role.CASEWORKER}), label=_("Entscheidung über den Rechtsbehelf erfassen")),
    # The owner's waiver of appeal in the portal, confirmed; and the first download of a notice there.
    Step("waive_appeal", owner=True, label=_("Auf Rechtsbehelfe verzichten")),
)

STEPS: dict[str, Step] = {step.name: step for step in _STEPS}
TRANSITION_STEPS: tuple[Step, ...] = tuple(step for step in _STEPS if step.transition is not None)
# The steps a workspace page may offer, in the order it shows them.
WORKSPACE_STEPS: tuple[Step, ...] = tuple(step for step in TRANSITION_STEPS if step.staff)
QUEUE_STEPS: tuple[Step, ...] = tuple(step for step in TRANSITION_STEPS if step.queue is not None)
# Each waiting step with its queue, for the selectors that build the queues.
QUEUES: tuple[tuple[Step, Queue], ...] = tuple((step, step.queue) for step in QUEUE_STEPS if step.queue is not None)
_BY_METHOD: dict[str, Step] = {step.method: step for step in TRANSITION_STEPS}

STEP_LABELS = {step.name: step.label for step in _STEPS if step.label}
# The history's words, by the transition's name as django-fsm-log records it.
HISTORY_LABELS = {
    step.method: step.history_label or step.label for step in TRANSITION_STEPS if step.history_label or step.label
}
# Which transition (as logged) produces which letter.
LETTER_FOR_TRANSITION = {step.method: step.letter for step in TRANSITION_STEPS if step.letter}
# The transitions (as logged) that notify the owner (grants.services._run queues them).
NOTIFIED_TRANSITIONS = tuple(step.method for step in TRANSITION_STEPS if step.notifies)


def _next_steps() -> dict[str, Text]:
    next_steps: dict[str, Text] = {}
    for step in TRANSITION_STEPS:
        for target in sorted(step.targets) if step.notifies else ():
            next_steps.setdefault(target, step.tells_owner)
    return next_steps


# What happens next, in the owner's words, after each state is reached (the first step reaching it says).
NEXT_STEP = _next_steps()


def step_of_transition(name: str) -> Step | None:
    """The step a logged transition (``StateLog.transition``) took; None for entries no step wrote (an import)."""
    return _BY_METHOD.get(name)


def action_of(name: str) -> str:
    """A logged transition named as the API and the pages name the step (mark_checked is check)."""
    step = _BY_METHOD.get(name)
    return step.name if step is not None else name


# --- the state machine: the one place that calls django-fsm for a step ----------------------------


def _bound(step: Step, application: GrantApplication):
    return step.transition.__get__(application, type(application))


def available_steps(application: GrantApplication) -> set[str]:
    """The steps the state allows now, their conditions met (who may is grants.rules' concern)."""
    transitions = application.get_available_state_transitions()  # type: ignore[attr-defined]  # added by django-fsm
    return {action_of(t.name) for t in transitions}


def possible_in_state(step: Step, application: GrantApplication) -> bool:
    """Whether the application's state allows the step, its conditions aside."""
    return can_proceed(_bound(step, application), check_conditions=False)


def unmet_conditions(step: Step, application: GrantApplication) -> list[str]:
    """The words of each of the step's conditions the application does not meet now."""
    transition = step.transition._django_fsm.get_transition(application.state) if step.transition else None
    conditions = (transition.conditions or []) if transition is not None else []
    return [str(condition.refusal) for condition in conditions if not condition(application)]


def take(step: Step, application: GrantApplication, *, by, comment: str) -> None:
    """Take the step's transition; django-fsm-log records who, when, from, to and the comment."""
    _bound(step, application)(by=by, description=comment or None)
