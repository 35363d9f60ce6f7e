"""Signed image URLs for the reading screen: the case payload hands out a URL per image file that
carries its own proof of access (signed with the secret key, bound to the reader and expiring), so
serving an image needs no database lookup — images are most of a reader's requests.

A URL exists only for what the reader may see: renditions of their session's cases, and heatmaps
only in assisted rounds (the payload of an unassisted round never contains one).
"""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

SALT = "readerstudy.reading.files"
MAX_AGE_SECONDS = 12 * 3600  # one reading day; the screen asks for fresh URLs with every case
KINDS = ("display", "frame", "heatmap")


def reading_file_url(*, user_id: int, name: str, kind: str) -> str:
    token = signing.dumps([user_id, name, kind], salt=SALT, compress=True)
    return reverse("reading-file", kwargs={"token": token})


@require_GET
def reading_file(request: HttpRequest, token: str) -> FileResponse:
    try:
        user_id, name, kind = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except (signing.BadSignature, ValueError):
        raise Http404("No such image.") from None
    # The session (not the user row) says who is logged in: no database query on this path.
    if kind not in KINDS or str(request.session.get(SESSION_KEY)) != str(user_id):
        raise Http404("No such image.")
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response = FileResponse(
        handle, content_type="image/png" if name.endswith(".png") else "image/jpeg"
    )
    # Renditions hold no AI output and never change (content-hashed): the reader's browser may
    # keep them. Heatmaps are the AI's: never stored by any cache.
    if kind == "heatmap":
        patch_cache_control(response, private=True, no_store=True)
    else:
        patch_cache_control(response, private=True, max_age=3600)
    return response
