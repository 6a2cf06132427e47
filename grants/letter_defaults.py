"""The German default wording of every letter; municipalities override it with LetterTemplate rows.

Subject and body are Django templates. The context is grants.letters.letter_context: application,
applicant, property, programme, guideline (the case's guideline version), municipality, today, comment
(the words of the transition), and the amounts and deadlines of the case. ``{% load formatting %}`` is always available (``|euro``).
"""

from .models import LetterKind

SIGNATORY = "Im Auftrag\n\nSachgebiet Städtebauförderung"

LEGAL_REMEDY_NOTICE = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden. "
    "Der Widerspruch ist schriftlich, in elektronischer Form nach § 3a Abs. 2 VwVfG oder zur Niederschrift "
    "bei der {{ municipality.official_name|default:municipality.name }} einzulegen."
)

DEFAULTS = {
    LetterKind.RECEIPT: {
        "subject": "Eingangsbestätigung zu Ihrem Antrag {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

wir haben Ihren Antrag auf Förderung aus dem {{ programme.name }} am {{ application.submitted_at|date:"d.m.Y" }} erhalten. Er wird unter dem Aktenzeichen {{ application.file_number }} geführt; bitte geben Sie es bei jeder Nachricht an.

Maßnahme: {{ application.description|default:"siehe Antrag" }}
Grundstück: {{ property.address }}
Beantragte Kosten: {{ application.total_costs|euro }}
Nach der Förderrichtlinie voraussichtlich förderfähig: {{ application.computed_grant|euro }}

Wir prüfen Ihren Antrag und melden uns, falls Unterlagen fehlen. Bitte beachten Sie: Mit der Maßnahme darf erst nach der Bewilligung begonnen werden; auch der Abschluss eines Bauvertrags gilt bereits als Beginn.""",
        "legal_remedy_notice": "",
    },
    LetterKind.DOCUMENTS_REQUEST: {
        "subject": "Nachforderung von Unterlagen zu Ihrem Antrag {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

für die Prüfung Ihres Antrags {{ application.file_number }} ({{ programme.name }}) benötigen wir noch Folgendes:

{{ comment }}

Bitte ergänzen Sie Ihren Antrag und reichen Sie ihn danach erneut ein. Bis dahin ruht die Bearbeitung.""",
        "legal_remedy_notice": "",
    },
    LetterKind.APPROVAL: {
        "subject": "Zuwendungsbescheid – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

auf Ihren Antrag vom {{ application.submitted_at|date:"d.m.Y" }} bewilligen wir Ihnen für die Maßnahme am Grundstück {{ property.address }} eine Zuwendung als Zuschuss in Höhe von

{{ application.approved_grant|euro }}

(Projektförderung als Anteilfinanzierung).

Berechnung: Gesamtkosten {{ application.total_costs|euro }}, davon förderfähig {{ application.eligible_costs|euro }}; Fördersatz {{ guideline.funding_rate_percent|floatformat:"-2" }} % (Förderrichtlinie, Fassung {{ guideline.number }} vom {{ guideline.valid_from|date:"d.m.Y" }}). Maßgeblich für die Höhe war: {{ bound_by }}.
{% for component in components %}
– {{ component.label }}: {{ component.area_m2|floatformat:"-2" }} m², förderfähig {{ component.eligible|euro }}, Zuschuss {{ component.grant|euro }} ({{ component.bound_by }}){% endfor %}

Nebenbestimmungen:
1. Die Maßnahme ist bis zum {{ application.completion_deadline|date:"d.m.Y" }} abzuschließen.
2. Die Schlussrechnungen mit Fotos nach Abschluss der Arbeiten sind bis zum {{ application.invoice_deadline|date:"d.m.Y" }} einzureichen.
3. Der geförderte Zustand ist für {{ guideline.commitment_years }} Jahre ab Fertigstellung zu erhalten (Zweckbindungsfrist).
4. Ausgezahlt wird nach Prüfung der Schlussrechnungen; geringere Kosten mindern die Zuwendung, höhere Kosten erhöhen sie nicht.
5. Bei Verstoß gegen diese Bestimmungen kann der Bescheid widerrufen und die Zuwendung mit Zinsen (§ 49a VwVfG) zurückgefordert werden.

{% if deminimis %}
De-minimis-Beihilfe: Die Zuwendung wird als De-minimis-Beihilfe gewährt nach der {{ deminimis.title }} ({{ deminimis.journal }}). Ihr Bruttosubventionsäquivalent beträgt {{ application.approved_grant|euro }}; Tag der Gewährung ist der {{ deminimis.granted_on|date:"d.m.Y" }}. Der Betrag wird auf den Höchstbetrag von {{ deminimis.ceiling|euro }} angerechnet, den ein einziges Unternehmen in drei Jahren erhalten darf. Die Gewährung wird im Zentralregister für De-minimis-Beihilfen erfasst (Art. 6 der Verordnung (EU) 2023/2831). Bitte bewahren Sie diesen Bescheid und die beigefügte De-minimis-Bescheinigung zehn Jahre lang auf und legen Sie sie bei jedem weiteren Antrag auf eine De-minimis-Beihilfe und auf Anforderung der Europäischen Kommission, des Landes oder der Bewilligungsbehörde vor; die Bewilligungsbehörde führt ihre Aufzeichnungen ebenfalls zehn Jahre ab der Gewährung (Art. 6 Abs. 4 der Verordnung (EU) 2023/2831).
{% endif %}
Begründung: Ihr Antrag erfüllt die Voraussetzungen der Förderrichtlinie; das Grundstück liegt im Fördergebiet, die Unterlagen sind vollständig und die Mittel des Programmjahres {{ application.budget_year }} stehen zur Verfügung.{% if deminimis.reduction_reason %}
Kürzung wegen des De-minimis-Höchstbetrags: Nach der Förderrichtlinie ergäbe sich ein Zuschuss von {{ application.computed_grant|euro }}. Mit den De-minimis-Beihilfen der letzten drei Jahre an Ihr Unternehmen bleiben bis zum Höchstbetrag nur {{ application.approved_grant|euro }}; auf diesen Betrag ist der Zuschuss gekürzt. {{ deminimis.reduction_reason }}{% endif %}{% if comment %}
{{ comment }}{% endif %}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.DEMINIMIS_CERTIFICATE: {
        "subject": "De-minimis-Bescheinigung – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

hiermit bescheinigen wir, dass {{ applicant.organisation|default:applicant.name }}{% if deminimis.identifier %} ({{ deminimis.identifier }}){% endif %} mit Zuwendungsbescheid vom {{ deminimis.granted_on|date:"d.m.Y" }} (Aktenzeichen {{ application.file_number }}) eine De-minimis-Beihilfe erhalten hat:

Beihilfegeber: {{ municipality.official_name|default:municipality.name }}
Förderprogramm: {{ programme.name }}
Form der Beihilfe: Zuschuss
Tag der Gewährung: {{ deminimis.granted_on|date:"d.m.Y" }}
Bruttosubventionsäquivalent: {{ application.approved_grant|euro }}
Rechtsgrundlage: {{ deminimis.title }} ({{ deminimis.journal }}){% if deminimis.nace %}
Wirtschaftszweig (NACE): {{ deminimis.nace }}{% endif %}

Diese Bescheinigung ist zehn Jahre lang aufzubewahren und bei künftigen Anträgen auf De-minimis-Beihilfen vorzulegen: Ein einziges Unternehmen darf in drei Jahren höchstens {{ deminimis.ceiling|euro }} an De-minimis-Beihilfen nach dieser Verordnung erhalten.""",
        "legal_remedy_notice": "",
    },
    LetterKind.REJECTION: {
        "subject": "Ablehnungsbescheid – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

Ihren Antrag vom {{ application.submitted_at|date:"d.m.Y" }} auf Förderung der Maßnahme am Grundstück {{ property.address }} lehnen wir ab.

Begründung:
{{ comment }}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.EXTENSION: {
        "subject": "Verlängerung der Fristen – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

auf Ihren Antrag vom {{ extension.requested_at|date:"d.m.Y" }} verlängern wir die Fristen aus dem Zuwendungsbescheid vom {{ application.approved_at|date:"d.m.Y" }} für die Maßnahme am Grundstück {{ property.address }}:

Abschluss der Maßnahme: bis zum {{ application.completion_deadline|date:"d.m.Y" }} (bisher {{ extension.completion_deadline_before|date:"d.m.Y" }})
Einreichen der Schlussrechnungen: bis zum {{ application.invoice_deadline|date:"d.m.Y" }} (bisher {{ extension.invoice_deadline_before|date:"d.m.Y" }})

Alle übrigen Bestimmungen des Zuwendungsbescheids gelten unverändert fort.

Begründung: Sie haben dargelegt, warum die Maßnahme in der bisherigen Frist nicht abgeschlossen werden kann; die Verlängerung gefährdet den Zuwendungszweck nicht (§ 31 Abs. 7 VwVfG).{% if comment %}
{{ comment }}{% endif %}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.EXTENSION_REFUSAL: {
        "subject": "Ablehnung der Fristverlängerung – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

Ihren Antrag vom {{ extension.requested_at|date:"d.m.Y" }} auf Verlängerung der Fristen aus dem Zuwendungsbescheid vom {{ application.approved_at|date:"d.m.Y" }} lehnen wir ab. Es bleibt dabei: Die Maßnahme ist bis zum {{ application.completion_deadline|date:"d.m.Y" }} abzuschließen, die Schlussrechnungen sind bis zum {{ application.invoice_deadline|date:"d.m.Y" }} einzureichen.

Begründung:
{{ comment }}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.CHANGE: {
        "subject": "Änderungsbescheid – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

auf Ihren Antrag vom {{ change.requested_at|date:"d.m.Y" }} ändern wir den Zuwendungsbescheid vom {{ application.approved_at|date:"d.m.Y" }} für die Maßnahme am Grundstück {{ property.address }}. Es gilt nun (bisher in Klammern):
{% for m in change.measures %}
{{ m.label }}: {% if m.area is None %}entfällt{% else %}{{ m.area|floatformat:"-2" }} m², Kosten {{ m.gross|euro }} brutto{% endif %} ({% if m.area_before is None %}bisher nicht beantragt{% else %}{{ m.area_before|floatformat:"-2" }} m², {{ m.gross_before|euro }}{% endif %}){% endfor %}

Zuwendung: {{ change.grant|euro }} (bisher {{ change.grant_before|euro }}){% if deminimis and change.grant > change.grant_before %}
De-minimis-Beihilfe: Auch die Erhöhung wird als De-minimis-Beihilfe gewährt nach der {{ deminimis.title }} ({{ deminimis.journal }}); Tag ihrer Gewährung ist der Tag dieses Bescheids. Das Bruttosubventionsäquivalent der Zuwendung beträgt nun {{ change.grant|euro }} und wird auf den Höchstbetrag von {{ deminimis.ceiling|euro }} in drei Jahren angerechnet; die Erhöhung wird im Zentralregister für De-minimis-Beihilfen erfasst. Bitte bewahren Sie auch diesen Bescheid zehn Jahre lang auf (Art. 6 der Verordnung (EU) 2023/2831).{% endif %}{% if change.deadlines_change %}
Abschluss der Maßnahme: bis zum {{ change.completion_deadline|date:"d.m.Y" }} (bisher {{ change.completion_deadline_before|date:"d.m.Y" }})
Einreichen der Schlussrechnungen: bis zum {{ change.invoice_deadline|date:"d.m.Y" }} (bisher {{ change.invoice_deadline_before|date:"d.m.Y" }}){% endif %}

Die Zuwendung ist nach der Fassung {{ guideline.number }} der Förderrichtlinie berechnet, nach der Ihr Antrag bewilligt wurde. Alle übrigen Bestimmungen des Zuwendungsbescheids gelten unverändert fort.

Begründung: Sie haben die Änderung mit folgenden Gründen beantragt: {{ change.reason }} Die geänderte Maßnahme erfüllt die Voraussetzungen der Förderrichtlinie, und die Mittel des Programmjahres {{ application.budget_year }} tragen die geänderte Zuwendung. Dieser Bescheid ersetzt den Zuwendungsbescheid in den genannten Punkten.{% if comment %}
{{ comment }}{% endif %}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.CHANGE_REFUSAL: {
        "subject": "Ablehnung des Änderungsantrags – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

Ihren Antrag vom {{ change.requested_at|date:"d.m.Y" }} auf Änderung des Zuwendungsbescheids vom {{ application.approved_at|date:"d.m.Y" }} lehnen wir ab. Es bleibt bei den bewilligten Maßnahmen und Kosten, bei der Zuwendung von {{ application.approved_grant|euro }} und bei den Fristen: Abschluss der Maßnahme bis zum {{ application.completion_deadline|date:"d.m.Y" }}, Schlussrechnungen bis zum {{ application.invoice_deadline|date:"d.m.Y" }}.

Begründung:
{{ comment }}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.PARTIAL_PAYMENT: {
        "subject": "Abschlagszahlung – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

auf die geprüften Rechnungen zahlen wir Ihnen aus der Zuwendung vom {{ application.approved_at|date:"d.m.Y" }} einen {{ partial.number }}. Abschlag von {{ partial.amount|euro }}:
{% for invoice in partial.invoices %}
– Rechnung {{ invoice.number }} von {{ invoice.supplier }} vom {{ invoice.issued_on|date:"d.m.Y" }}: förderfähig {{ invoice.eligible_amount|euro }} netto{% endfor %}

Bewilligt: {{ application.approved_grant|euro }}
Bisher insgesamt ausgezahlt: {{ application.paid_amount|euro }}

Vor dem Verwendungsnachweis zahlen wir höchstens {{ partial.percent }} % der Zuwendung aus. Der Rest folgt nach der Prüfung der Schlussrechnung; dabei wird die Zuwendung nach den tatsächlichen Kosten festgestellt. Der Betrag wird in den nächsten Tagen auf Ihr Konto {{ applicant.iban }} überwiesen.""",
        "legal_remedy_notice": "",
    },
    LetterKind.PAYMENT: {
        "subject": "Auszahlung der Zuwendung – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

nach Prüfung Ihrer Schlussrechnungen zahlen wir Ihnen die Zuwendung aus dem Bescheid vom {{ application.approved_at|date:"d.m.Y" }} aus:

Bewilligt: {{ application.approved_grant|euro }}
Ausgezahlt: {{ application.paid_amount|euro }}{% if partial_paid %}, davon schon als Abschlag gezahlt: {{ partial_paid|euro }}; jetzt überwiesen: {{ final_transfer|euro }}{% endif %}{% if released_amount %}
Nicht benötigt und freigegeben: {{ released_amount|euro }}{% endif %}

Der Betrag wird in den nächsten Tagen auf Ihr Konto {{ applicant.iban }} überwiesen. Bitte denken Sie an die Zweckbindungsfrist von {{ guideline.commitment_years }} Jahren.""",
        "legal_remedy_notice": "",
    },
    LetterKind.HEARING: {
        "subject": "Anhörung vor einem Widerruf – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

wir beabsichtigen, den Zuwendungsbescheid vom {{ application.approved_at|date:"d.m.Y" }} (Aktenzeichen {{ application.file_number }}) {% if revocation.intended_full %}ganz{% else %}in Höhe von {{ revocation.intended_amount|euro }}{% endif %} aufzuheben und, soweit die Zuwendung schon ausgezahlt ist, zurückzufordern.

Grund: {{ revocation.reason }}

Sachverhalt:
{{ revocation.facts }}

Bewilligt sind {{ revocation.grant|euro }}, ausgezahlt {{ revocation.paid|euro }}. Wird der Bescheid aufgehoben, ist die Zuwendung, soweit sie ausgezahlt ist, zu erstatten und vom Eintritt der Unwirksamkeit an mit fünf Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen (§ 49a VwVfG).

Bevor wir entscheiden, geben wir Ihnen Gelegenheit, sich zu den für die Entscheidung erheblichen Tatsachen zu äußern (§ 28 VwVfG). Bitte äußern Sie sich bis zum {{ revocation.hearing_deadline|date:"d.m.Y" }} schriftlich oder in unserem Portal unter „Meine Anträge“. Nach Ablauf der Frist entscheiden wir nach Aktenlage.""",
        "legal_remedy_notice": "",
    },
    LetterKind.REVOCATION: {
        "subject": "{{ revocation.title }} – {{ programme.name }} – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

{% if revocation.interest_only %}der Zuwendungsbescheid vom {{ application.approved_at|date:"d.m.Y" }} bleibt bestehen. Die ausgezahlte Zuwendung von {{ revocation.late_use_amount|euro }} haben Sie jedoch nicht alsbald nach der Auszahlung am {{ revocation.late_use_from|date:"d.m.Y" }} für den Zuwendungszweck verwendet, sondern erst am {{ revocation.late_use_until|date:"d.m.Y" }}. Für diese Zeit setzen wir nach § 49a Abs. 4 VwVfG Zinsen fest.{% else %}nach Ihrer Anhörung {% if revocation.answered %}und unter Würdigung Ihrer Äußerung vom {{ revocation.answered_at|date:"d.m.Y" }} {% endif %}entscheiden wir:

1. Der Zuwendungsbescheid vom {{ application.approved_at|date:"d.m.Y" }} wird {% if revocation.full %}ganz{% else %}in Höhe von {{ revocation.revoked_amount|euro }}{% endif %} mit Wirkung vom {{ revocation.effective_from|date:"d.m.Y" }} {% if revocation.withdrawal %}zurückgenommen (§ 48 VwVfG){% else %}widerrufen (§ 49 Abs. 3 VwVfG){% endif %}. Die Zuwendung beträgt nun {{ revocation.remaining|euro }} (bisher {{ revocation.grant_before|euro }}).
{% if revocation.principal %}
2. Von der ausgezahlten Zuwendung ({{ revocation.paid_before|euro }}) ist ein Betrag von {{ revocation.principal|euro }} zu erstatten (§ 49a Abs. 1 VwVfG).
{% if revocation.interest_waived %}
3. Von der Geltendmachung der Zinsen sehen wir ab (§ 49a Abs. 3 Satz 2 VwVfG).{% else %}
3. Der zu erstattende Betrag ist vom Eintritt der Unwirksamkeit an, frühestens ab der Auszahlung, mit fünf Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen (§ 49a Abs. 3 VwVfG). {% if revocation.account.missing_rate %}Die Zinsen teilen wir Ihnen gesondert mit.{% else %}Bis zum Fälligkeitstag sind das {{ revocation.interest_at_due|euro }}; sie laufen bis zum Tag der Zahlung weiter.{% endif %}{% endif %}{% endif %}{% endif %}
{% if revocation.late_use_interest %}
Zinsen für verspätete Verwendung (§ 49a Abs. 4 VwVfG) auf {{ revocation.late_use_amount|euro }} vom {{ revocation.late_use_from|date:"d.m.Y" }} bis {{ revocation.late_use_until|date:"d.m.Y" }}: {{ revocation.late_use_interest|euro }}.{% endif %}
{% if revocation.due_on %}
Bitte überweisen Sie den Betrag bis zum {{ revocation.due_on|date:"d.m.Y" }} unter Angabe des Aktenzeichens {{ application.file_number }} an die Kasse der {{ municipality.official_name|default:municipality.name }}. Zahlungen rechnen wir {% if revocation.interest_first %}zuerst auf die Zinsen, dann auf die Hauptforderung an (§ 367 Abs. 1 BGB){% else %}zuerst auf die Hauptforderung, dann auf die Zinsen an{% endif %}.{% endif %}

Begründung:
{{ comment }}""",
        "legal_remedy_notice": LEGAL_REMEDY_NOTICE,
    },
    LetterKind.REVOCATION_CLOSED: {
        "subject": "Einstellung des Widerrufsverfahrens – {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

das mit unserem Schreiben vom {{ revocation.opened_at|date:"d.m.Y" }} eingeleitete Verfahren zum Widerruf des Zuwendungsbescheids vom {{ application.approved_at|date:"d.m.Y" }} stellen wir ein. Der Bescheid bleibt, wie er ist; es ist nichts weiter zu tun.

{{ comment }}""",
        "legal_remedy_notice": "",
    },
    LetterKind.RECLAIM_REMINDER: {
        "subject": "Zahlungserinnerung – Erstattung zu {{ application.file_number }}",
        "body": """Sehr geehrte Damen und Herren,

mit Bescheid vom {{ revocation.decided_at|date:"d.m.Y" }} haben wir eine Erstattung festgesetzt, fällig am {{ revocation.due_on|date:"d.m.Y" }}. Bis heute ist sie nicht vollständig eingegangen.

{% if revocation.account.missing_rate %}Offene Hauptforderung: {{ revocation.account.principal_open|euro }}; die Zinsen teilen wir Ihnen gesondert mit.{% else %}Offen sind heute, am {{ today|date:"d.m.Y" }}:
Hauptforderung: {{ revocation.account.principal_open|euro }}
Zinsen: {{ revocation.account.interest_open|euro }}
Zusammen: {{ revocation.account.total_open|euro }}{% endif %}

Bitte überweisen Sie den Betrag umgehend unter Angabe des Aktenzeichens {{ application.file_number }}. Die Zinsen laufen bis zum Tag der Zahlung weiter.

{{ comment }}""",
        "legal_remedy_notice": "",
    },
}
