"""Make the provider's signing key, the client for readerstudy, and two hospital users."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import Application

from tests.sso.provider.people import PASSWORD
from tests.sso.provider.settings import KEY_FILE


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--redirect-uri", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        KEY_FILE.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        Application.objects.create(
            name="readerstudy",
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=options["redirect_uri"],
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=True,
        )
        readers = Group.objects.create(name="rs-readers")
        everyone = Group.objects.create(name="hospital-staff")
        rita = User.objects.create_user("rita", email="rita@hospital.example", password=PASSWORD)
        rita.groups.add(readers, everyone)
        nora = User.objects.create_user("nora", email="nora@hospital.example", password=PASSWORD)
        nora.groups.add(everyone)
