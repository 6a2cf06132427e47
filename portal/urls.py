"""The owner portal: programmes and the funding-area check (public), my applications (owners)."""

from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.applications, name="applications"),
    path("neu/<int:programme_id>/", views.new_application, name="new"),
    path("neu/<int:programme_id>/grundstueck/", views.new_application_property, name="new_property"),
    path("<int:pk>/", views.application_detail, name="application"),
    path("<int:pk>/antragsteller/", views.step_applicant, name="step_applicant"),
    path("<int:pk>/grundstueck/", views.step_property, name="step_property"),
    path("<int:pk>/massnahme/", views.step_measures, name="step_measures"),
    path("<int:pk>/massnahme/vorschau/", views.measures_preview, name="measures_preview"),
    path("<int:pk>/unterlagen/", views.step_documents, name="step_documents"),
    path("<int:pk>/pruefen/", views.step_review, name="step_review"),
    path("<int:pk>/de-minimis/", views.deminimis_declaration, name="deminimis_declaration"),
    path("<int:pk>/zurueckziehen/", views.withdraw, name="withdraw"),
    path("<int:pk>/schlussrechnung/", views.final_documents, name="final_documents"),
    path("<int:pk>/fristverlaengerung/", views.request_extension, name="request_extension"),
    path("<int:pk>/aenderung/", views.request_change, name="request_change"),
    path("<int:pk>/rechnungen/<int:document_id>/", views.record_invoice, name="record_invoice"),
    path("<int:pk>/verwendungsnachweis/", views.submit_proof, name="submit_proof"),
    path("<int:pk>/anhoerung/", views.answer_hearing, name="answer_hearing"),
    path("<int:pk>/veraeusserung/", views.report_sale, name="report_sale"),
    path("<int:pk>/bescheide/<int:letter_id>/verzicht/", views.waive_appeal, name="waive_appeal"),
    path("dokumente/<int:pk>/", views.document_file, name="document"),
    path("meine-daten/", views.my_data, name="my_data"),
]
