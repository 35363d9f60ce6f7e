"""The API's session authentication, answering 401 (not 403) to a request that is not signed in.

DRF answers 403 when its first authenticator names no `WWW-Authenticate` scheme; a client must
be able to tell "sign in" (401) from "not allowed" (403).
"""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication
from rest_framework.request import Request


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="api"'


class SessionAuthenticationScheme(SessionScheme):
    """The schema's security scheme for it: the session cookie, as for DRF's own class."""

    target_class = "readerstudy.accounts.authentication.SessionAuthentication"
