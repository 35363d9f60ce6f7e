"""Invitations: a one-time, expiring link to set one's password, sent by e-mail.

The link is Django's password-reset link (`default_token_generator`): its token hashes the
user's password and last login, so it stops working once used, after PASSWORD_RESET_TIMEOUT
(INVITATION_DAYS), and when tampered with. Mail goes through Django's e-mail backend
(EMAIL_URL: the console by default).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.http import HttpResponse
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record


def invitation_path(*, user: User) -> str:
    """The path of the user's set-password link (valid until used or expired)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("invitation-accept", kwargs={"uidb64": uidb64, "token": token})


def invitation_send(
    *, user: User, study_title: str, role: str, inviter: User, base_url: str, new_account: bool
) -> None:
    """Mail the invitation: a set-password link for a new account, a note for an existing one."""
    inviter_name = inviter.get_full_name() or inviter.get_username()
    if new_account:
        action = (
            "Set your password with this link (it works once, for a limited time):\n"
            f"{base_url.rstrip('/')}{invitation_path(user=user)}\n\n"
            f"Then sign in with your e-mail address as the username: {user.get_username()}"
        )
    else:
        action = f"Sign in as usual: {base_url.rstrip('/')}{reverse('login')}"
    send_mail(
        subject=f"readerstudy: you are invited to {study_title}",
        message=(
            f"Hello {user.get_full_name() or user.get_username()},\n\n"
            f"{inviter_name} has added you to the reader study “{study_title}” as {role}.\n\n"
            f"{action}\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """Set the password from an invitation link; an expired, used or altered link is refused."""

    template_name = "accounts/invitation_accept.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form: SetPasswordForm[User]) -> HttpResponse:
        response = super().form_valid(form)
        assert isinstance(self.user, User)
        audit_record(actor=self.user, action="invitation.accepted", target=self.user)
        messages.success(self.request, "Your password is set: sign in with it.")
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invited_user"] = self.user
        return context
