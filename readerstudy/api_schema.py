"""The OpenAPI schema's view of the API: every operation also declares its errors.

Each view answers its refusals and failures (validation 400, not signed in 401, not allowed 403,
not found 404, conflict 409, a method or media type it does not take) in one shape,
`{"message", "extra"}` (`readerstudy.errors.api_exception_handler`): the schema says so, for
every operation, so that clients and the fuzz tests can rely on it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ErrorOutput(serializers.Serializer[Any]):
    message = serializers.CharField()
    extra = serializers.DictField(help_text="Machine-readable details, such as field errors.")


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if "4XX" not in responses:
            responses["4XX"] = self._get_response_for_code(ErrorOutput, "4XX", direction=direction)
        return responses
