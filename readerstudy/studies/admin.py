from __future__ import annotations

from django import forms
from django.contrib import admin

from readerstudy.admin_scoping import ScopedFormFieldsMixin, StudyScopedAdmin
from readerstudy.studies.models import (
    Case,
    CaseImage,
    Cohort,
    Enrolment,
    Study,
    StudyMembership,
)


class StudyAdminForm(forms.ModelForm):
    # Checkboxes, not the JSON field's raw text box.
    reading_cohorts = forms.MultipleChoiceField(
        choices=Cohort.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Study
        # The admin lays out what its form offers, so the form offers every field (the admin's
        # read-only and frozen fields are taken out of it there).
        fields = "__all__"  # noqa: DJ007


class MembershipInline(ScopedFormFieldsMixin, admin.TabularInline):
    model = StudyMembership
    extra = 0


class EnrolmentInline(ScopedFormFieldsMixin, admin.TabularInline):
    model = Enrolment
    extra = 0


@admin.register(Study)
class StudyAdmin(StudyScopedAdmin):
    study_path = ""
    form = StudyAdminForm
    list_display = ("slug", "title", "status", "washout_days", "ai_model", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "title")
    prepopulated_fields = {"slug": ("title",)}
    # Set by opening rounds and closing the study; the design brings the rounds (the console's
    # settings page changes it while every round is planned).
    readonly_fields = ("status", "design")
    # What readers saw: which cases, the answer form, the AI and its threshold.
    frozen_once_reading = (
        "reading_cohorts",
        "collect_features",
        "allow_revisions",
        "ai_model",
        "ai_threshold",
    )
    inlines = [MembershipInline, EnrolmentInline]


class CaseImageInline(ScopedFormFieldsMixin, admin.TabularInline):
    model = CaseImage
    extra = 0
    fields = (
        "position",
        "plane",
        "width",
        "height",
        "roi_x",
        "roi_y",
        "roi_w",
        "roi_h",
        "region_source",
        "needs_review",
    )
    readonly_fields = ("width", "height")


@admin.register(Case)
class CaseAdmin(StudyScopedAdmin):
    list_display = ("key", "study", "reader_label", "cohort", "truth_malignant", "histology")
    list_filter = ("study", "cohort", "truth_malignant")
    search_fields = ("key", "reader_label", "patient_pseudonym")
    readonly_fields = ("reader_label", "patient_pseudonym")
    frozen_once_reading = ("study", "cohort")
    inlines = [CaseImageInline]


@admin.register(CaseImage)
class CaseImageAdmin(StudyScopedAdmin):
    study_path = "case__study"
    list_display = ("case", "position", "plane", "region_source", "needs_review")
    list_filter = ("needs_review", "region_source")
    # The manifest path can hold the source patient id: never shown or edited here.
    exclude = ("source_name",)
    frozen_once_reading = ("case", "position")
