"""Browser tests: Playwright driving Debian's Chromium, headless, against a live test server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD

# Playwright's sync API keeps an event loop in this thread; the ORM calls in these tests are
# ordinary synchronous ones made between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip("no Chromium here (apt-get install chromium to run the browser tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The Content-Security-Policy is enforced: anything it refuses is broken for users.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"))
    context.close()
    assert not refused, f"the page broke its Content-Security-Policy: {refused[:3]}"


def shot(page: Any, name: str) -> None:
    """Keep a screenshot as a test artefact (test-artifacts/browser/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def login(page: Any, base: str, username: str) -> None:
    """Log in through the login form, as a person does."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def case_label(page: Any) -> str:
    """The label of the case on the reading screen, once one is shown."""
    page.wait_for_function("() => document.getElementById('case-label').textContent !== '…'")
    return str(page.text_content("#case-label"))


def ai_outputs_create(study: Any, *, image_probability: Any = lambda n: 0.8) -> None:
    """A model for the study with a heatmap (a left-to-right ramp) and a probability for every
    image (`image_probability(n)` for a case's n-th image), the case's soft vote 0.8, both
    rounds open: what a browser test of the reading screen starts from."""
    import cv2
    import numpy as np
    from django.core.files.base import ContentFile

    from inference.worker.models import CasePrediction, ModelVersion, Prediction

    model = ModelVersion.objects.create(
        name="browser-model", architecture="resnet18", checkpoint="m.pt", checkpoint_sha256="1" * 64
    )
    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (192, 1))
    heatmap = cv2.imencode(".png", ramp)[1].tobytes()
    for case in study.cases.all():
        for n, image in enumerate(case.images.all()):
            prediction = Prediction(
                image=image, model_version=model, probability=image_probability(n)
            )
            prediction.heatmap.save(f"{image.pk}.png", ContentFile(heatmap), save=False)
            prediction.save()
        CasePrediction.objects.create(
            case=case,
            model_version=model,
            probability=0.8,
            malignant=True,
            threshold=0.5,
            n_images=case.images.count(),
        )
    study.ai_model = model
    study.save()


def benign_and_next(page: Any) -> None:
    """Answer the case on screen benign (confidence 45, by keyboard) and wait for the next."""
    label = case_label(page)
    page.keyboard.press("b")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('case-label').textContent !== '{label}'")
