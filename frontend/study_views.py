"""The coordinator's pages for a study's life: create, settings, people, close.

Plain forms posted to the server (they work without scripts, and errors come back next to their
fields); each view parses, calls one service and redirects with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontend.forms import CloseForm, InviteForm, StudyForm, errors_onto
from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import Role, User
from readerstudy.errors import ApplicationError
from readerstudy.reading.designs import DESIGNS
from readerstudy.reading.study_setup import (
    FROZEN_ONCE_READ,
    study_close,
    study_create,
    study_create_require,
    study_has_reads,
    study_update,
)
from readerstudy.studies.members import member_invite, member_remove, members_list
from readerstudy.studies.models import Study, StudyStatus


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _coordinated(request: HttpRequest, slug: str) -> Study:
    study = (
        access.scoped(Study.objects.all(), user=request.user, roles=COORDINATE, path="")
        .filter(slug=slug)
        .first()
    )
    if study is None:
        raise Http404("No such study.")
    return study


def _console(study: Study, anchor: str = "") -> HttpResponse:
    return redirect(reverse("study-console", args=[study.slug]) + (f"#{anchor}" if anchor else ""))


@login_required
@never_cache
def study_create_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        study_create_require(actor=user)
    except ApplicationError as error:
        raise PermissionDenied(error.message) from error
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.fields}
        try:
            study = study_create(actor=user, **values)
        except (ValidationError, ApplicationError) as error:
            errors_onto(form, error)
        else:
            messages.success(
                request,
                f"Study “{study.title}” created with its rounds. Next: invite people and import "
                "cases.",
            )
            return _console(study)
    return render(
        request, "frontend/study_form.html", {"form": form, "study": None, "designs": DESIGNS}
    )


@login_required
@never_cache
def study_settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    study = _coordinated(request, slug)
    frozen: dict[str, str] = {}
    if study.status == StudyStatus.CLOSED:
        frozen = dict.fromkeys(StudyForm.Meta.fields, "The study is closed.")
        frozen.pop("title")
        frozen.pop("description")
    elif study_has_reads(study=study):
        frozen = {
            name: f"Frozen since the first read: it changes {what}."
            for name, what in FROZEN_ONCE_READ.items()
        }
    form = StudyForm(request.POST or None, instance=study, frozen=frozen)
    if request.method == "POST" and form.is_valid():
        changes = {
            name: form.cleaned_data[name]
            for name, field in form.fields.items()
            if not field.disabled
        }
        try:
            study_update(study=Study.objects.get(pk=study.pk), actor=_user(request), **changes)
        except (ValidationError, ApplicationError) as error:
            errors_onto(form, error)
        else:
            messages.success(request, "Settings saved.")
            return _console(study)
    return render(
        request,
        "frontend/study_form.html",
        {"form": form, "study": Study.objects.get(pk=study.pk), "designs": DESIGNS},
    )


@login_required
@never_cache
def study_people_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Who takes part; invite a person by e-mail; remove one who has not read."""
    study = _coordinated(request, slug)
    form = InviteForm(request.POST or None, label_suffix="")
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            invitation = member_invite(
                study=study,
                actor=_user(request),
                email=values["email"],
                role=Role(values["role"]),
                name=values["name"],
                seniority=values["seniority"],
                years_of_experience=values["years_of_experience"],
                base_url=request.build_absolute_uri("/"),
            )
        except (ValidationError, ApplicationError) as error:
            errors_onto(form, error)
        else:
            who = invitation.member.email
            messages.success(
                request,
                f"Invitation sent to {who}: a link to set a password (valid once)."
                if invitation.new_account
                else f"{who} already had an account: added to the study and told by e-mail.",
            )
            return redirect("study-people", slug=study.slug)
    return render(
        request,
        "frontend/people.html",
        {"study": study, "form": form, "members": members_list(study=study)},
    )


@login_required
@require_POST
def study_member_remove(request: HttpRequest, slug: str, user_pk: int) -> HttpResponse:
    study = _coordinated(request, slug)
    try:
        member_remove(study=study, actor=_user(request), user_id=user_pk)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Removed from the study.")
    return redirect("study-people", slug=study.slug)


@login_required
@require_POST
def study_close_page(request: HttpRequest, slug: str) -> HttpResponse:
    study = _coordinated(request, slug)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for m in form.errors["confirm"]))
        return _console(study, "close")
    try:
        study_close(study=study, actor=_user(request))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The study is closed: no reads are accepted any more.")
    return _console(study)
