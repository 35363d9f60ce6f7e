"""The questionnaire page a reader reaches when a session completes: a plain form, no script."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.errors import ApplicationError, NotFound
from readerstudy.questionnaires.forms import QuestionnaireForm
from readerstudy.questionnaires.instruments import TITLES
from readerstudy.questionnaires.selectors import session_for_questionnaire, session_questionnaires
from readerstudy.questionnaires.services import questionnaire_submit


@login_required
@never_cache
def questionnaire_page(request: HttpRequest, session_pk: int) -> HttpResponse:
    reader = access.reader_for(request.user)
    if reader is None:
        raise Http404("No such reading session.")
    try:
        session = session_for_questionnaire(reader=reader, session_pk=session_pk)
    except NotFound as missing:
        raise Http404(str(missing)) from missing
    pending = [a for a in session_questionnaires(session=session) if not a.answered]
    form = QuestionnaireForm(request.POST or None, asked=pending)
    message = ""
    status = 200
    if session.completed_at is None:
        message = "The questionnaires open once every case of this session is read."
        pending = []
        status = 409
    elif request.method == "POST" and pending:
        if form.is_valid():
            assert isinstance(request.user, User)
            try:
                questionnaire_submit(session=session, answers=form.answers(), actor=request.user)
                pending = []
            except ApplicationError as failure:
                message, status = failure.message, failure.status_code
        else:
            status = 400
    sections = [
        {
            "title": TITLES[a.questionnaire.instrument],
            "fields": [form[f"{a.questionnaire.instrument}-{item.key}"] for item in a.items],
        }
        for a in pending
    ]
    context = {"session": session, "sections": sections, "error": message, "form": form}
    return render(request, "questionnaires/questionnaire.html", context, status=status)
