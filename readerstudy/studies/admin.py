from __future__ import annotations

from django.contrib import admin

from readerstudy.admin_scoping import StudyScopedAdmin
from readerstudy.studies.models import Case, CaseImage, Enrolment, Study, StudyMembership


class MembershipInline(admin.TabularInline):
    model = StudyMembership
    extra = 0


class EnrolmentInline(admin.TabularInline):
    model = Enrolment
    extra = 0


@admin.register(Study)
class StudyAdmin(StudyScopedAdmin):
    study_path = ""
    list_display = ("slug", "title", "status", "washout_days", "ai_model", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "title")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [MembershipInline, EnrolmentInline]


class CaseImageInline(admin.TabularInline):
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
    inlines = [CaseImageInline]


@admin.register(CaseImage)
class CaseImageAdmin(StudyScopedAdmin):
    study_path = "case__study"
    list_display = ("case", "position", "plane", "region_source", "needs_review")
    list_filter = ("needs_review", "region_source")
