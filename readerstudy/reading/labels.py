"""The opaque names a reader sees for cases and images: different in every reading session.

A case kept its study-wide label in both rounds before, so a reader could recognise it across the
washout ("7K3F again: I called it malignant last time"). Now each session names its cases and
images with an HMAC keyed by the session's own stored seed (128 bits from a CSPRNG, never shown):
stable within the session (a reload shows the same label), unrelated between sessions, and
derived rather than stored, so no table grows with it. Staff keep the study-wide `Case.key`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: readable aloud
LABEL_LENGTH = 8  # 40 bits: a clash among a session's few hundred cases is about 1 in 10^7


# Every request names its case and images, and finding a case by its label names the session's
# cases until it is found: cached, a name costs a dict lookup instead of an HMAC (64k names at
# most, about 13 MB: a few hundred sessions of a large study).
@functools.lru_cache(maxsize=1 << 16)
def _name(seed: str, kind: str, pk: int, length: int) -> str:
    digest = hmac.new(seed.encode(), f"{kind}:{pk}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    return "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in range(length))


def case_label(*, seed: str, case_id: int) -> str:
    """The label a session shows for a case."""
    return _name(seed, "case", case_id, LABEL_LENGTH)


def image_name(*, seed: str, image_id: int) -> str:
    """The id a session gives an image in its payload."""
    return _name(seed, "image", image_id, 12)


def case_for_label(*, seed: str, case_ids: list[int], label: str) -> int | None:
    """The case of the session's permutation with this label, or None."""
    wanted = label.strip().upper()
    return next((pk for pk in case_ids if case_label(seed=seed, case_id=pk) == wanted), None)
