"""The caseworker workspace (Arbeitsplatz) under /arbeitsplatz/."""

from django.urls import path

from applicants import views as applicant_views
from grants import letter_views, previews
from grants import views as grant_views
from payments import views as payment_views
from reports import notice_views
from reports import views as budget_views

app_name = "workspace"
urlpatterns = [
    path("", grant_views.workspace_start, name="start"),
    path("antraege/", grant_views.application_list, name="applications"),
    path("antraege/schreiben/", grant_views.application_letters, name="application_letters"),
    path("antraege/<int:pk>/", grant_views.application_detail, name="application"),
    path("antraege/<int:pk>/schritt/<str:action>/", grant_views.application_step, name="step"),
    path("antraege/<int:pk>/schlussrechnung/", grant_views.application_certify, name="certify"),
    path(
        "antraege/<int:pk>/rechnungen/<int:invoice_id>/pruefen/",
        grant_views.application_certify_invoice,
        name="certify_invoice",
    ),
    path("antraege/<int:pk>/vermerk/", grant_views.application_note, name="note"),
    path("antraege/<int:pk>/erstberatung/", grant_views.application_link_consultation, name="link_consultation"),
    path("antraege/<int:pk>/fassung/", grant_views.application_rebase, name="rebase"),
    path("antraege/<int:pk>/de-minimis-kuerzung/", grant_views.application_deminimis_reduce, name="deminimis_reduce"),
    path("antraege/<int:pk>/auskunft/", grant_views.application_personal_data, name="personal_data"),
    path("antraege/<int:pk>/bescheide/<int:letter_id>/versand/", grant_views.notice_sending, name="notice_sending"),
    path("antraege/<int:pk>/bescheide/<int:letter_id>/verzicht/", grant_views.notice_waiver, name="notice_waiver"),
    path(
        "antraege/<int:pk>/bescheide/<int:letter_id>/belehrung/",
        grant_views.notice_remedy_defect,
        name="notice_remedy_defect",
    ),
    path("antraege/<int:pk>/bescheide/<int:letter_id>/rechtsbehelf/", grant_views.appeal_new, name="appeal_new"),
    path(
        "antraege/<int:pk>/rechtsbehelfe/<int:appeal_id>/entscheidung/",
        grant_views.appeal_decision,
        name="appeal_decision",
    ),
    path("antraege/<int:pk>/widerruf/", grant_views.revocation_new, name="revocation_new"),
    path("antraege/<int:pk>/widerruf/entscheidung/", grant_views.revocation_decision, name="revocation_decision"),
    path("antraege/<int:pk>/widerruf/rueckzahlung/", grant_views.repayment_new, name="repayment_new"),
    path("antraege/<int:pk>/kontrolle/", grant_views.inspection_new, name="inspection_new"),
    path("zweckbindung/", grant_views.commitment_list, name="commitment"),
    path("de-minimis/", grant_views.deminimis_register, name="deminimis_register"),
    path("de-minimis/register.csv", grant_views.deminimis_register_file, {"kind": "csv"}, name="deminimis_csv"),
    path("de-minimis/register.xml", grant_views.deminimis_register_file, {"kind": "xml"}, name="deminimis_xml"),
    path("zahlungslaeufe/", payment_views.run_list, name="payment_runs"),
    path("zahlungslaeufe/<int:pk>/", payment_views.run_detail, name="payment_run"),
    path("zahlungslaeufe/<int:pk>/anordnen/", payment_views.run_order, name="payment_run_order"),
    path("zahlungslaeufe/<int:pk>/ausgefuehrt/", payment_views.run_executed, name="payment_run_executed"),
    path(
        "zahlungslaeufe/<int:pk>/ueberweisungen/<int:item_id>/zurueck/",
        payment_views.item_returned,
        name="payment_item_returned",
    ),
    path("zahlungslaeufe/<int:pk>/sepa.xml", payment_views.run_file, {"kind": "xml"}, name="payment_run_xml"),
    path("zahlungslaeufe/<int:pk>/tabelle.xlsx", payment_views.run_file, {"kind": "xlsx"}, name="payment_run_xlsx"),
    path("zahlungslaeufe/<int:pk>/anordnung.pdf", payment_views.run_file, {"kind": "pdf"}, name="payment_run_pdf"),
    path("dokumente/<int:pk>/", grant_views.document_file, name="document"),
    path("dokumente/<int:pk>/vorschau.png", previews.document_preview, name="document_preview"),
    path("haushalt/", budget_views.budget_overview, name="budgets"),
    path("haushalt/<int:pk>/", budget_views.allocation_dashboard, name="allocation"),
    path("haushalt/<int:pk>/uebertrag/", budget_views.carry_over_new, name="carry_over_new"),
    path(
        "haushalt/<int:pk>/uebertrag/<int:carry_id>/bestaetigen/",
        budget_views.carry_over_confirm,
        name="carry_over_confirm",
    ),
    path(
        "haushalt/<int:pk>/uebertrag/<int:carry_id>/verwerfen/",
        budget_views.carry_over_cancel,
        name="carry_over_cancel",
    ),
    path("warteliste/", grant_views.waiting_list, name="waiting_list"),
    path("haushalt/verwendungsnachweis/", budget_views.statement_new, name="statement_new"),
    path("haushalt/verwendungsnachweis/<int:pk>/", budget_views.statement_detail, name="statement"),
    path(
        "haushalt/verwendungsnachweis/<int:pk>/excel/",
        budget_views.statement_file,
        {"kind": "xlsx"},
        name="statement_xlsx",
    ),  # noqa: E501
    path(
        "haushalt/verwendungsnachweis/<int:pk>/pdf/", budget_views.statement_file, {"kind": "pdf"}, name="statement_pdf"
    ),  # noqa: E501
    path("haushalt/landesbescheide/", notice_views.state_notice_list, name="state_notices"),
    path("haushalt/landesbescheide/neu/", notice_views.state_notice_new, name="state_notice_new"),
    path("haushalt/landesbescheide/<int:pk>/", notice_views.state_notice_detail, name="state_notice"),
    path("haushalt/landesbescheide/<int:pk>/abruf/", notice_views.drawdown_request, name="drawdown_request"),
    path(
        "haushalt/landesbescheide/<int:pk>/abrufe/<int:drawdown_id>/eingang/",
        notice_views.drawdown_receipt,
        name="drawdown_receipt",
    ),
    path("altfaelle/", grant_views.legacy_import, name="import"),
    path("altfaelle/vorlage.xlsx", grant_views.legacy_import_template, name="import_template"),
    path("erstberatungen/", applicant_views.consultations, name="consultations"),
    path("briefvorlagen/", letter_views.letter_templates, name="letter_templates"),
    path("briefvorlagen/neu/", letter_views.letter_template_new, name="letter_template_new"),
    path("briefvorlagen/<int:pk>/", letter_views.letter_template_edit, name="letter_template"),
    path("protokoll/", grant_views.audit_log, name="audit"),
]
