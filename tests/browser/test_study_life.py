"""A study's whole life in the browser, as a new coordinator: create it, invite two readers
(the links from the test mail outbox), import the sample zip, open round 1, both read, round 2
refused before the washout, an override with a reason, read, close, the report.

Two steps are not done through the pages, and say so: the import task runs in this process
(called as a worker would call it: no worker process shares the test database on SQLite), and
the AI output is stored as rows (precompute with a trained model is tested in
tests/inference_adapter; here readers only need an AI output to show).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core import mail
from django.core.files.base import ContentFile

from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.accounts.models import Role
from readerstudy.accounts.services import user_create
from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import Read, WashoutOverride
from readerstudy.studies.models import ImportJob, ImportStatus, Study
from readerstudy.studies.tasks import import_run
from tests.browser.conftest import ARTIFACTS, case_label
from tests.conftest import PASSWORD

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
LINK = re.compile(r"https?://[^/\s]+(/accounts/invitation/[^\s]+/)")
READER_PASSWORD = "ultrasound reader passphrase"
VIEWPORT = {"width": 1366, "height": 768}


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"life-{name}.png"), full_page=True)


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _sample_zip(folder: Path) -> Path:
    archive = folder / "sample.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(SAMPLE.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(SAMPLE))
    return archive


def _ai_output(study: Study) -> None:
    model = ModelVersion.objects.create(
        name="life-model", architecture="resnet18", checkpoint="m.pt", checkpoint_sha256="2" * 64
    )
    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (192, 1))
    heatmap = cv2.imencode(".png", ramp)[1].tobytes()
    for case in study.cases.all():
        probability = 0.9 if case.truth_malignant else 0.2
        for image in case.images.all():
            prediction = Prediction(image=image, model_version=model, probability=probability)
            prediction.heatmap.save(f"{image.pk}.png", ContentFile(heatmap), save=False)
            prediction.save()
        CasePrediction.objects.create(
            case=case, model_version=model, probability=probability,
            malignant=probability > study.ai_threshold, threshold=study.ai_threshold,
            n_images=case.images.count(),
        )  # fmt: skip
    study.ai_model = model
    study.save(update_fields=["ai_model"])


def _read_session(page: Any, cases: int) -> None:
    """Read every case of the open session with the keyboard: alternate calls, a confidence."""
    for number in range(cases):
        label = case_label(page)
        malignant = number % 2 == 0
        page.keyboard.press("m" if malignant else "b")
        # A confidence on the side of the call (the screen asks when they disagree).
        for _ in range(number + 1):
            page.keyboard.press("ArrowUp" if malignant else "ArrowDown")
        page.keyboard.press("Enter")
        if number < cases - 1:
            page.wait_for_function(
                f"() => document.getElementById('case-label').textContent !== '{label}'"
            )
    page.wait_for_selector("text=complete", timeout=15_000)


def _start_round(page: Any, base: str, index: int) -> None:
    page.goto(f"{base}/reading/")
    page.click(f"tr[data-round='{index}'] button.start")
    page.wait_for_url("**/reading/sessions/*/")


@pytest.mark.django_db(transaction=True)
def test_a_new_coordinator_runs_a_study_from_creation_to_report(
    browser: Any, live_server: Any, tmp_path: Path, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    base = live_server.url
    user_create(username="cora", password=PASSWORD, role=Role.COORDINATOR, email="cora@h.example")
    refused: list[str] = []

    def csp_watch(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def context() -> Any:
        ctx = browser.new_context(viewport=VIEWPORT)
        ctx.on("console", csp_watch)
        ctx.set_default_timeout(20_000)
        return ctx

    coordinator = context().new_page()
    try:
        # --- create the study -------------------------------------------------------------
        _login(coordinator, base, "cora", PASSWORD)
        coordinator.click("text=New study")
        coordinator.fill("#id_title", "Parotid tumours, life test")
        coordinator.fill("#id_slug", "no spaces allowed")
        _shot(coordinator, "01-create-form")
        coordinator.click("text=Create study")
        assert coordinator.locator(".field .errorlist").count() >= 1  # next to the slug
        _shot(coordinator, "02-create-error")
        coordinator.fill("#id_slug", "life")
        coordinator.fill("#id_washout_days", "28")
        coordinator.click("text=Create study")
        coordinator.wait_for_url(f"{base}/studies/life/console/")
        assert "created with its rounds" in coordinator.text_content(".messages")
        assert coordinator.text_content("#study-status") == "Draft"
        _shot(coordinator, "03-console-new")
        study = Study.objects.get(slug="life")
        assert list(study.rounds.values_list("index", "assisted")) == [(1, False), (2, True)]

        # --- invite two readers -------------------------------------------------------------
        coordinator.click("nav.links >> text=People")
        for email, name, seniority, years in (
            ("rae@h.example", "Rae Senior", "senior", "15"),
            ("ian@h.example", "Ian Junior", "junior", "2"),
        ):
            coordinator.fill("#id_email", email)
            coordinator.fill("#id_name", name)
            coordinator.select_option("#id_role", "reader")
            coordinator.select_option("#id_seniority", seniority)
            coordinator.fill("#id_years_of_experience", years)
            coordinator.click("text=Send invitation")
            assert f"Invitation sent to {email}" in coordinator.text_content(".messages")
        _shot(coordinator, "04-people")
        links = {message.to[0]: LINK.search(str(message.body)) for message in mail.outbox}
        assert set(links) == {"rae@h.example", "ian@h.example"}

        readers = {}
        for email, found in links.items():
            assert found is not None
            page = context().new_page()
            page.goto(base + found.group(1))
            page.fill("#id_new_password1", READER_PASSWORD)
            page.fill("#id_new_password2", READER_PASSWORD)
            if email == "rae@h.example":
                _shot(page, "05-set-password")
            page.click("text=Set password")
            page.wait_for_url(f"{base}/accounts/login/")
            _login(page, base, email, READER_PASSWORD)
            readers[email] = page
        # A used link is refused.
        reused = context().new_page()
        reused.goto(base + links["rae@h.example"].group(1))  # type: ignore[union-attr]
        assert "This link does not work" in reused.text_content("main")

        # --- import the sample zip, then the AI output ---------------------------------------
        coordinator.click("text=← Parotid tumours, life test console")
        coordinator.set_input_files("#import-form input[type=file]", str(_sample_zip(tmp_path)))
        coordinator.click("text=Upload and import")
        coordinator.wait_for_function(
            "() => !!window.document.getElementById('import-progress') "
            "&& !document.getElementById('import-progress').hidden"
        )
        job = ImportJob.objects.get(study=study)
        assert import_run(job_pk=job.pk) == ImportStatus.SUCCEEDED  # the worker's task body
        coordinator.wait_for_selector("text=imported 3 cases", timeout=20_000)
        coordinator.wait_for_load_state("load")
        coordinator.wait_for_selector("text=3 to read")
        _ai_output(study)

        # --- round 1 -----------------------------------------------------------------------
        coordinator.reload()
        coordinator.click("text=Open round 1")
        coordinator.wait_for_selector("#study-status:text('Reading')")
        _shot(coordinator, "06-round1-open")
        for page in readers.values():
            _start_round(page, base, 1)
            _read_session(page, 3)
        assert Read.objects.filter(session__round__study=study).count() == 6

        # --- round 2: opened, but both readers are in washout ---------------------------------
        coordinator.reload()
        coordinator.click("text=Open round 2")
        coordinator.wait_for_selector("text=Close round 2")
        pending = coordinator.text_content("ul.washout-pending")
        assert "in washout until" in pending
        assert "rae@h.example" in pending
        _shot(coordinator, "07-round2-washout")
        rae = readers["rae@h.example"]
        rae.goto(f"{base}/reading/")
        assert "Opens for you on" in rae.text_content("tr[data-round='2']")
        answer = rae.evaluate(
            """async (url) => {
                const token = document.querySelector('[name=csrfmiddlewaretoken]').value;
                const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}});
                return {status: r.status, body: await r.json()};
            }""",
            f"/api/reading/rounds/{study.rounds.get(index=2).pk}/start/",
        )
        assert answer["status"] == 409
        assert "opens for you on" in answer["body"]["message"]

        # --- the override: a blank reason is refused next to the field, then granted ---------
        rae_id = study.enrolments.get(reader__user__email="rae@h.example").reader_id
        form = coordinator.locator(f"form.override-form[data-reader='{rae_id}']")
        form.locator("button").click()
        form.locator(".field-error, .form-message:not([hidden])").first.wait_for()
        assert "reason" in (form.text_content() or "").lower()
        _shot(coordinator, "08-override-blank")
        form.locator("input[name=reason]").fill("Leaves the hospital next week (PI approved)")
        form.locator("button").click()
        coordinator.wait_for_selector("text=Washout overridden by")
        note = coordinator.text_content(".override-note")
        assert "cora" in note
        assert "Leaves the hospital next week" in note
        _shot(coordinator, "09-override-granted")
        assert WashoutOverride.objects.get(round__study=study).granted_by.username == "cora"

        _start_round(rae, base, 2)
        assert rae.locator("#ai-panel").count() == 1
        _shot(rae, "10-assisted-reading")
        _read_session(rae, 3)

        # --- close the study and open the report -------------------------------------------
        coordinator.reload()
        coordinator.check("#close-form input[name=confirm]")
        coordinator.click("#close-form button[type=submit]")
        coordinator.wait_for_selector("#study-status:text('Closed')")
        assert "no reads are accepted" in coordinator.text_content(".messages")
        _shot(coordinator, "11-closed")
        ian = readers["ian@h.example"]
        ian.goto(f"{base}/")
        assert "Closed" in ian.text_content("table.grid")
        coordinator.click("nav.links >> text=Report")
        coordinator.wait_for_url(f"{base}/studies/life/report/")
        _shot(coordinator, "12-report")
        actions = set(AuditEvent.objects.filter(study=study).values_list("action", flat=True))
        assert {"study.created", "member.invited", "round.opened", "washout.overridden",
                "study.status_changed"} <= actions  # fmt: skip
        assert not refused, refused[:3]
    finally:
        for ctx in browser.contexts:
            ctx.close()
