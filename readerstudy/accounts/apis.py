"""API tokens for a user's own scripts: create (the secret shown once), list, revoke."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.models import User
from readerstudy.accounts.services import token_create, token_revoke


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class TokenOutput(serializers.Serializer[AuthToken]):
    """A token as listed: its public key and dates, never the secret."""

    id = serializers.CharField(source="token_key", help_text="The token's first characters.")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(
        help_text="The secret: shown this once only. Send it as 'Authorization: Token <token>'."
    )


class TokenListCreateApi(APIView):
    @extend_schema(responses=TokenOutput(many=True))
    def get(self, request: Request) -> Response:
        tokens = AuthToken.objects.filter(user=_user(request), expiry__gt=timezone.now())
        return Response(TokenOutput(tokens.order_by("-created"), many=True).data)

    @extend_schema(request=None, responses={201: TokenCreatedOutput})
    def post(self, request: Request) -> Response:
        token, secret = token_create(user=_user(request))
        created = {
            "token_key": token.token_key,
            "created": token.created,
            "expiry": token.expiry,
            "token": secret,
        }
        return Response(TokenCreatedOutput(created).data, status=status.HTTP_201_CREATED)


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, token_key: str) -> Response:
        token_revoke(user=_user(request), token_key=token_key)
        return Response(status=status.HTTP_204_NO_CONTENT)
