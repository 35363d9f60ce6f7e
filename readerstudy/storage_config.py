"""Media storage: the local filesystem (the default) or an S3-compatible bucket (django-storages).

Media (originals, renditions, heatmaps, checkpoints) is never public: readers get images through
the permission-checked views (readerstudy/reading/files.py), which read them with Django's storage
API, so the bucket stays private and no URL of it ever reaches a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from readerstudy.env import _raw, env_choice


def _secret(name: str, environ: Mapping[str, str] | None) -> str | None:
    """NAME, else the contents of the file NAME_FILE names (a container secret), else None."""
    value = _raw(name, environ)
    if value:
        return value
    path = _raw(f"{name}_FILE", environ)
    if not path:
        return None
    if not Path(path).is_file():
        raise ImproperlyConfigured(f"{name}_FILE={path!r} does not name a readable file.")
    return Path(path).read_text().strip()


def media_storage(*, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """STORAGES["default"] from MEDIA_STORAGE (filesystem | s3) and the S3_* variables."""
    kind = env_choice(
        "MEDIA_STORAGE", choices=("filesystem", "s3"), default="filesystem", environ=environ
    )
    if kind == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    bucket = _raw("S3_BUCKET", environ)
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs S3_BUCKET.")
    endpoint = _raw("S3_ENDPOINT_URL", environ) or None
    access_key = _raw("S3_ACCESS_KEY_ID", environ) or None
    secret_key = _secret("S3_SECRET_ACCESS_KEY", environ)
    if (access_key is None) != (secret_key is None):
        raise ImproperlyConfigured(
            "Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY(_FILE), or neither (then boto3's "
            "own chain: instance role, ~/.aws)."
        )
    addressing = env_choice(
        "S3_ADDRESSING_STYLE",
        choices=("auto", "path", "virtual"),
        # MinIO, Ceph and most on-premises stores want path-style addresses.
        default="path" if endpoint else "auto",
        environ=environ,
    )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": _raw("S3_REGION", environ) or None,
            "access_key": access_key,
            "secret_key": secret_key,
            "location": _raw("S3_PREFIX", environ) or "",
            "addressing_style": addressing,
            "signature_version": "s3v4",
            # Private objects; a name already taken gets a new one, as on the filesystem.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
