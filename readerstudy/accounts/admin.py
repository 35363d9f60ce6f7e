from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from readerstudy.accounts.models import Reader, User

admin.site.register(User, UserAdmin)


@admin.register(Reader)
class ReaderAdmin(admin.ModelAdmin):
    list_display = ("user", "seniority", "years_experience")
    list_filter = ("seniority",)
    search_fields = ("user__username",)
