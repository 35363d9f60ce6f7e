"""Inviting people by e-mail: one-time, expiring set-password links (expired, reused and
tampered links refused), existing users enrolled as they are, removal before reading, the mail
setting parsed strictly."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from readerstudy.accounts.models import Role, User
from readerstudy.audit.models import AuditEvent
from readerstudy.env import env_email
from readerstudy.errors import Conflict
from readerstudy.studies.members import member_invite, member_remove
from tests.conftest import Personas
from tests.factories import ReadingSessionFactory, RoundFactory

NEW_PASSWORD = "a long passphrase 4 readers"
LINK = re.compile(r"https?://[^/\s]+(/accounts/invitation/[^\s]+/)")


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _invite(personas: Personas, django_capture_on_commit_callbacks: Any, **data: Any) -> Any:
    payload = {"email": "dr.new@hospital.example", "role": "reader", "name": "Dana New",
               "seniority": "intermediate", "years_of_experience": 7, **data}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        return _client(personas.alice).post(
            reverse("api:study-members", args=[personas.study.slug]),
            payload,
            content_type="application/json",
        )


def _link() -> str:
    found = LINK.search(str(mail.outbox[-1].body))
    assert found, mail.outbox[-1].body
    return found.group(1)


def _set_password(client: Client, link: str, password: str = NEW_PASSWORD) -> Any:
    """Open the link (Django moves the token into the session and redirects) and post."""
    form_page = client.get(link, follow=True)
    return form_page, client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"new_password1": password, "new_password2": password},
    )


def test_an_invited_reader_sets_a_password_once_and_sees_only_their_study(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(personas, django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.json()
    assert response.json()["new_account"] is True
    user = User.objects.get(email="dr.new@hospital.example")
    assert not user.has_usable_password()
    assert (user.reader.seniority, user.reader.years_experience) == ("intermediate", 7)
    assert user.has_role(Role.READER)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dr.new@hospital.example"]
    link = _link()
    client = Client()
    form_page, done = _set_password(client, link)
    assert b"Set your password" in form_page.content
    assert done.status_code == 302
    assert done["Location"] == reverse("login")
    assert client.login(username="dr.new@hospital.example", password=NEW_PASSWORD)
    slugs = [s["slug"] for s in client.get(reverse("api:study-list")).json()]
    assert slugs == [personas.study.slug]
    assert (
        client.get(reverse("api:study-detail", args=[personas.other_study.slug])).status_code == 404
    )
    assert AuditEvent.objects.filter(action="member.invited", study=personas.study).exists()
    assert AuditEvent.objects.filter(action="invitation.accepted", actor=user).exists()
    # The link worked once: used again it is refused, and the password stays.
    again = Client().get(link, follow=True)
    assert b"This link does not work" in again.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_tampered_link_is_refused(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    _invite(personas, django_capture_on_commit_callbacks)
    link = _link()
    prefix, uid, token, _ = link.rsplit("/", 3)
    other_uid = urlsafe_base64_encode(force_bytes(personas.bob.user.pk))
    for bad in (
        f"{prefix}/{uid}/{token[:-1]}{'a' if token[-1] != 'a' else 'b'}/",
        f"{prefix}/{other_uid}/{token}/",  # someone else's account with this token
    ):
        page = Client().get(bad, follow=True)
        assert b"This link does not work" in page.content
        refused = Client().post(bad, {"new_password1": "x" * 20, "new_password2": "x" * 20})
        assert refused.status_code == 200  # the same refusal page, nothing set
    assert not User.objects.get(email="dr.new@hospital.example").has_usable_password()


class _Earlier(PasswordResetTokenGenerator):
    """Django's own generator, as it was some days ago (the link of an old invitation)."""

    def __init__(self, days: int) -> None:
        super().__init__()
        self.days = days

    def _now(self) -> datetime:
        return super()._now() - timedelta(days=self.days)


def test_an_expired_link_is_refused(personas: Personas, settings: Any) -> None:
    settings.PASSWORD_RESET_TIMEOUT = 7 * 86400
    user = User.objects.create(username="late@hospital.example", email="late@hospital.example")
    user.set_unusable_password()
    user.save()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    fresh = reverse("invitation-accept", args=[uid, _Earlier(days=6).make_token(user)])
    stale = reverse("invitation-accept", args=[uid, _Earlier(days=8).make_token(user)])
    assert b"Set your password" in Client().get(fresh, follow=True).content
    assert b"This link does not work" in Client().get(stale, follow=True).content


def test_an_existing_user_is_enrolled_without_a_new_account(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    carol = personas.carol.user
    carol.email = "carol@hospital.example"
    carol.save()
    response = _invite(
        personas, django_capture_on_commit_callbacks, email="Carol@Hospital.example",
        seniority="", years_of_experience=None,
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["new_account"] is False
    assert personas.study.enrolments.filter(reader=personas.carol).exists()
    assert User.objects.filter(email__iexact="carol@hospital.example").count() == 1
    assert "invitation" not in str(mail.outbox[-1].body).split("Sign in")[1]
    assert not LINK.search(str(mail.outbox[-1].body))
    again = _invite(personas, django_capture_on_commit_callbacks, email="carol@hospital.example")
    assert again.status_code == 409


def test_a_new_reader_needs_seniority_and_experience(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(
        personas, django_capture_on_commit_callbacks, seniority="", years_of_experience=None
    )
    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"seniority", "years_of_experience"}
    assert not User.objects.filter(email="dr.new@hospital.example").exists()
    assert not mail.outbox


def test_a_statistician_is_invited_as_staff_of_the_study(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(
        personas, django_capture_on_commit_callbacks, email="stats@uni.example",
        role="statistician",
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["member"]["roles"] == ["statistician"]
    user = User.objects.get(email="stats@uni.example")
    assert not hasattr(user, "reader")
    assert user.has_role(Role.STATISTICIAN)


def test_only_the_coordinator_invites_and_lists(personas: Personas) -> None:
    url = reverse("api:study-members", args=[personas.study.slug])
    for user in (personas.bob.user, personas.sam, personas.carol.user):
        assert _client(user).get(url).status_code == 404
        assert (
            _client(user).post(url, {"email": "x@y.example", "role": "reader"}).status_code == 404
        )
    listed = _client(personas.alice).get(url).json()
    assert {m["username"] for m in listed} == {"alice", "sam", "bob"}


def test_a_reader_is_removed_before_reading_and_kept_after(personas: Personas) -> None:
    study, alice, bob = personas.study, personas.alice, personas.bob
    client = _client(alice)
    url = reverse("api:study-member", args=[study.slug, bob.user.pk])
    round = RoundFactory.create(study=study, index=1, assisted=False)
    ReadingSessionFactory.create(reader=bob, round=round)
    refused = client.delete(url)
    assert refused.status_code == 409
    assert "started reading" in refused.json()["message"]
    assert study.enrolments.filter(reader=bob).exists()
    round.sessions.all().delete()
    assert client.delete(url).status_code == 204
    assert not study.enrolments.filter(reader=bob).exists()
    event = AuditEvent.objects.get(action="member.removed", study=study)
    assert event.data["roles"] == ["reader"]
    with pytest.raises(Conflict, match="last coordinator"):
        member_remove(study=study, actor=alice, user_id=alice.pk)


def test_the_people_page_invites_and_shows_errors_next_to_fields(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(personas.alice)
    url = reverse("study-people", args=[personas.study.slug])
    page = client.post(url, {"email": "not an address", "role": "reader"}).content.decode()
    assert "Enter a valid email address" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"email": "eve@hospital.example", "role": "reader", "name": "Eve Reader",
                  "seniority": "junior", "years_of_experience": 1},
        )  # fmt: skip
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Invitation sent to eve@hospital.example" in page
    assert "invited: no password yet" in page
    assert len(mail.outbox) == 1


def test_member_invite_refuses_a_non_coordinator(personas: Personas) -> None:
    from readerstudy.errors import NotPermitted

    with pytest.raises(NotPermitted):
        member_invite(
            study=personas.study, actor=personas.sam, email="z@z.example", role=Role.READER,
            seniority="junior", years_of_experience=1, base_url="http://x/",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("console:", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("file:///var/mail/rs", {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                                 "EMAIL_FILE_PATH": "/var/mail/rs"}),
    ],
)  # fmt: skip
def test_email_url_simple_backends(value: str | None, expected: dict[str, str]) -> None:
    environ = {} if value is None else {"EMAIL_URL": value}
    assert env_email("EMAIL_URL", environ=environ) == expected


def test_email_url_smtp_with_credentials() -> None:
    config = env_email("EMAIL_URL", environ={"EMAIL_URL": "smtp+tls://me%40x.org:p%2Fw@mail.x.org"})
    assert config["EMAIL_HOST"] == "mail.x.org"
    assert config["EMAIL_PORT"] == 587
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("me@x.org", "p/w")
    assert (config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (True, False)
    ssl = env_email("EMAIL_URL", environ={"EMAIL_URL": "smtps://mail.x.org:2465"})
    assert (ssl["EMAIL_PORT"], ssl["EMAIL_USE_SSL"]) == (2465, True)


@pytest.mark.parametrize(
    "value",
    ["smtp:/mail", "smtp://", "smtp://host:port", "smtp://host:99999", "imap://host",
     "smtp://host?tls=1", "smtp://host/path", "file://relative/path", "mail.example.org"],
)  # fmt: skip
def test_email_url_malformed_stops_start_up(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env_email("EMAIL_URL", environ={"EMAIL_URL": value})
