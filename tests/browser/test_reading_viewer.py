"""The reading screen as a radiologist uses it, in Chromium at four screen sizes: window/level by
drag, calipers in millimetres over a phantom lesion of known size, layouts, cine, fullscreen,
going back to correct a read, the consistency prompt, the end of a session, and axe-core.

Screenshots are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, UltrasoundImageStorage, generate_uid

from readerstudy.reading.models import Read, ReadMeasurement, Round
from readerstudy.reading.services import (
    read_submit,
    round_open,
    session_start,
    washout_override_grant,
)
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import (
    CaseImage,
    Cohort,
    ConsistencyRule,
    StaffRole,
    StudyMembership,
)
from tests.browser.conftest import ai_outputs_create, benign_and_next, case_label, login, shot
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 800, 600
SPACING_MM = 0.1  # PhysicalDeltaX/Y = 0.01 cm
LESION_MM = 12.0  # the phantom lesion's diameter: 120 pixels
CINE_FRAMES = 10
SIZES = [(1024, 768), (1366, 768), (1920, 1080), (3840, 2160)]


def _ultrasound_dicom(frames: np.ndarray, *, spacing_cm: float | None) -> bytes:
    """An ultrasound DICOM (grey, one or more frames) with a B-mode region and its scale."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = UltrasoundImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.PatientName = "PHANTOM^DISC"
    ds.PatientID = "PH1"
    ds.Rows, ds.Columns = HEIGHT, WIDTH
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    region = Dataset()
    region.RegionSpatialFormat = 1
    region.RegionDataType = 1
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = WIDTH - 1, HEIGHT - 1
    if spacing_cm is not None:
        region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3
        region.PhysicalDeltaX = region.PhysicalDeltaY = spacing_cm
    ds.SequenceOfUltrasoundRegions = Sequence([region])
    ds.PixelData = np.ascontiguousarray(frames).tobytes()
    import io

    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _disc_frame(rng: np.random.Generator, brightness: int = 160) -> np.ndarray:
    """Tissue of even texture with an anechoic disc of LESION_MM diameter at the centre."""
    frame = np.clip(rng.normal(brightness, 6, (HEIGHT, WIDTH)), 0, 255).astype(np.uint8)
    radius = LESION_MM / SPACING_MM / 2
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    frame[(xx - (WIDTH - 1) / 2) ** 2 + (yy - (HEIGHT - 1) / 2) ** 2 <= radius**2] = 20
    return frame


@pytest.fixture
def viewer_study(personas_tx: Personas, tmp_path: Path) -> Personas:
    """Three cases: the disc phantom (with a second, unscaled view), a 10-frame cine, a plain one."""
    p = personas_tx
    rng = np.random.default_rng(5)
    folder = tmp_path / "import"
    folder.mkdir()
    files = {
        "disc.dcm": _ultrasound_dicom(_disc_frame(rng)[None], spacing_cm=SPACING_MM / 10),
        "noscale.dcm": _ultrasound_dicom(_disc_frame(rng, 120)[None], spacing_cm=None),
        "cine.dcm": _ultrasound_dicom(
            np.stack([_disc_frame(rng, 60 + 15 * i) for i in range(CINE_FRAMES)]),
            spacing_cm=SPACING_MM / 10,
        ),
        "plain.dcm": _ultrasound_dicom(_disc_frame(rng, 100)[None], spacing_cm=SPACING_MM / 10),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    box = ["330", "230", "140", "140"]
    rows = [
        ["P1", "C1", "disc.dcm", "benign", "internal_test", *box],
        ["P1", "C1", "noscale.dcm", "benign", "internal_test", *box],
        ["P2", "C2", "cine.dcm", "malignant", "internal_test", *box],
        ["P3", "C3", "plain.dcm", "benign", "internal_test", *box],
    ]
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["patient_id", "case_id", "file", "truth", "cohort", "roi_x", "roi_y", "roi_w", "roi_h"]
        )
        writer.writerows(rows)
    p.study.reading_cohorts = list(Cohort.values)
    p.study.allow_revisions = True
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    ai_outputs_create(p.study, image_probability=lambda n: 0.7 + 0.2 * n)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    round_open(round=Round.objects.create(study=p.study, index=1, assisted=False), actor=p.alice)
    round_open(round=Round.objects.create(study=p.study, index=2, assisted=True), actor=p.alice)
    return p


def _open_round(page: Any, base: str, index: int) -> None:
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    page.locator("button.start").first.click()
    page.wait_for_url("**/reading/sessions/*/")
    case_label(page)
    _drawn(page)


def _drawn(page: Any) -> None:
    """Wait until every viewport's canvas shows image pixels."""
    page.wait_for_function(
        """() => { const c = [...document.querySelectorAll('.viewport canvas')];
        return c.length && c.every(x => { const d = x.getContext('2d').getImageData(0, 0, x.width, x.height).data;
          for (let i = 0; i < d.length; i += 4 * 97) if (d[i] > 0) return true; return false; }); }"""
    )


def _canvas_sum(page: Any, index: int = 0) -> int:
    return int(page.evaluate(
        """(i) => { const c = document.querySelectorAll('.viewport canvas')[i];
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let k = 0; k < d.length; k += 4) s += d[k]; return s; }""", index))  # fmt: skip


def _read_to(page: Any, case: str) -> None:
    """Go from the current case to the one with this label by reading the ones before it."""
    for _ in range(4):
        if case_label(page) == case:
            return
        benign_and_next(page)
    raise AssertionError(f"case {case} never came")


def _label_of(study: Personas, key: str, round_index: int = 1) -> str:
    from readerstudy.reading.labels import case_label as label

    session = study.bob.sessions.get(round__index=round_index)
    return label(seed=session.seed, case_id=study.study.cases.get(key=key).pk)


def _disc_edges(page: Any) -> tuple[float, float, float]:
    """Where the dark disc lies on the middle row of the first canvas, in page CSS pixels:
    left and right edge, and the row — found from the pixels, as a reader's eye would."""
    found = page.evaluate(
        """() => { const c = document.querySelector('.viewport canvas'); const r = c.getBoundingClientRect();
        const ratio = c.width / r.width; const y = Math.round(c.height / 2);
        const d = c.getContext('2d').getImageData(0, y, c.width, 1).data;
        let first = -1, last = -1;
        for (let x = 0; x < c.width; x += 1) { const v = d[4 * x];
          if (v > 0 && v < 90) { if (first < 0) first = x; last = x; } }
        return [r.left + first / ratio, r.left + (last + 1) / ratio, r.top + y / ratio]; }"""
    )
    return float(found[0]), float(found[1]), float(found[2])


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_screen_fits_windows_levels_and_measures_the_phantom_lesion_in_mm(
    viewer_study: Personas, browser: Any, live_server: Any, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused: list[str] = []
    page.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    base = live_server.url
    _open_round(page, base, 1)
    _read_to(page, _label_of(viewer_study, "C1"))
    _drawn(page)
    size = f"{width}x{height}"
    shot(page, f"viewer-{size}-loaded")

    # Nothing scrolls; the decision and Submit are in view; the image lies inside its viewport.
    assert page.evaluate("() => document.scrollingElement.scrollHeight <= innerHeight + 1")
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= innerWidth + 1")
    for selector in ("#submit", "input[value=malignant]", "#confidence"):
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["y"] + box["height"] <= height, selector
        assert box["x"] + box["width"] <= width, selector
    canvas = page.locator(".viewport canvas").first.bounding_box()
    assert canvas["x"] >= 0
    assert canvas["y"] >= 0
    assert canvas["x"] + canvas["width"] <= width
    assert canvas["y"] + canvas["height"] <= height
    left, right, _ = _disc_edges(page)
    assert canvas["x"] < left < right < canvas["x"] + canvas["width"]  # fitted: the lesion is seen

    # Window/level: a drag with the window tool changes the drawn pixels; reset restores them.
    before = _canvas_sum(page)
    cx, cy = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 120, cy + 60, steps=6)
    page.mouse.up()
    after = _canvas_sum(page)
    assert abs(after - before) > 0.05 * before, (before, after)
    assert "W 136" in str(page.text_content("#status-line"))
    shot(page, f"viewer-{size}-windowed")
    page.keyboard.press("r")
    assert _canvas_sum(page) == pytest.approx(before, rel=0.002)

    # Calipers: 1:1 and zoomed, across the disc from edge to edge: its diameter in mm.
    page.keyboard.press("z")
    page.keyboard.press("+")
    page.keyboard.press("d")
    left, right, row = _disc_edges(page)
    page.mouse.move(left, row)
    page.mouse.down()
    page.mouse.move(right, row, steps=8)
    page.mouse.up()
    text = str(page.text_content("#measurements"))
    shot(page, f"viewer-{size}-caliper")
    measured = float(text.split(" mm")[0].split()[-1])
    assert abs(measured - LESION_MM) <= SPACING_MM, text
    page.click("text=Use as max diameter")
    assert page.input_value("#max-diameter") == f"{measured:.1f}"
    page.click("text=Benign")
    page.locator("#confidence").fill("10")
    page.click("#submit")
    page.wait_for_function(
        f"() => document.getElementById('case-label').textContent !== '{_label_of(viewer_study, 'C1')}'"
    )
    stored = ReadMeasurement.objects.get(
        read__case__key="C1", read__session__reader=viewer_study.bob
    )
    assert stored.fills_max_diameter
    assert stored.length_mm == pytest.approx(measured, abs=0.051)
    assert stored.length_mm is not None
    assert abs(stored.length_mm - LESION_MM) <= SPACING_MM
    assert min(stored.x0, stored.x1) >= 340 - 2
    assert max(stored.x0, stored.x1) <= 460 + 2
    context.close()
    assert not refused, refused[:3]


def test_below_1024_pixels_the_screen_asks_for_a_larger_one(
    viewer_study: Personas, browser: Any, live_server: Any
) -> None:
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    login(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/reading/")
    page.locator("button.start").first.click()
    page.wait_for_url("**/reading/sessions/*/")
    assert page.is_visible(".small-screen")
    assert "larger screen" in str(page.text_content(".small-screen"))
    assert not page.is_visible("#submit")
    shot(page, "viewer-800x600-too-small")
    context.close()


def test_layouts_cine_fullscreen_help_and_the_unscaled_view(
    viewer_study: Personas, page: Any, live_server: Any
) -> None:
    base = live_server.url
    _open_round(page, base, 1)
    session = viewer_study.bob.sessions.get(round__index=1)
    keys = {viewer_study.study.cases.get(pk=pk).key: n for n, pk in enumerate(session.permutation)}
    parts = {"C1": _views_and_fullscreen, "C2": _cine}
    for key in sorted(parts, key=keys.__getitem__):  # in the session's order
        _read_to(page, _label_of(viewer_study, key))
        _drawn(page)
        parts[key](page)
        benign_and_next(page)
    image = CaseImage.objects.get(case__key="C2")
    assert len(image.frames) == CINE_FRAMES
    assert image.frame == CINE_FRAMES // 2


def _views_and_fullscreen(page: Any) -> None:
    # Two views: 1×2 shows both, 2×2 holds no more views than the case has.
    page.click("[data-layout='1x2']")
    _drawn(page)
    assert page.locator(".viewport canvas").count() == 2
    assert _canvas_sum(page, 0) != _canvas_sum(page, 1)
    shot(page, "viewer-layout-1x2")
    page.click("[data-layout='2x2']")
    _drawn(page)
    assert page.locator(".viewport canvas").count() == 2
    page.click("[data-layout='1x1']")
    _drawn(page)
    page.keyboard.press("ArrowRight")  # the second view has no physical scale: said on screen
    page.wait_for_function(
        "() => document.getElementById('status-line').textContent.includes('No physical scale')"
    )
    page.keyboard.press("d")
    box = page.locator(".viewport canvas").first.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 100, steps=4)
    page.mouse.up()
    assert "px (no physical scale)" in str(page.text_content("#measurements"))
    shot(page, "viewer-unscaled-caliper")
    page.keyboard.press("w")

    # Help overlay and fullscreen.
    page.keyboard.press("?")
    assert page.is_visible("#help")
    shot(page, "viewer-help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    page.keyboard.press("f")
    page.wait_for_function(
        "() => document.fullscreenElement && document.fullscreenElement.id === 'viewer-column'"
    )
    shot(page, "viewer-fullscreen")
    page.keyboard.press("f")
    page.wait_for_function("() => !document.fullscreenElement")


def _cine(page: Any) -> None:
    # The cine: its frames step, scroll and play; it opens on the model's (middle) frame.
    assert page.is_visible("#cine")
    middle = CINE_FRAMES // 2
    assert str(page.text_content("#cine-text")) == f"{middle + 1} / {CINE_FRAMES}"
    before = _canvas_sum(page)
    page.keyboard.press(".")
    page.wait_for_function(
        f"() => document.getElementById('cine-text').textContent === '{middle + 2} / {CINE_FRAMES}'"
    )
    # each frame is 15 grey levels brighter than the one before
    page.wait_for_function(
        """(b) => { const c = document.querySelector('.viewport canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0; for (let k = 0; k < d.length; k += 4) s += d[k]; return s > b * 1.05; }""",
        arg=before,
    )
    shot(page, "viewer-cine-next-frame")
    page.keyboard.press(" ")
    page.wait_for_function(
        f"() => document.getElementById('cine-text').textContent !== '{middle + 2} / {CINE_FRAMES}'"
    )
    page.keyboard.press(" ")
    assert "Play" in str(page.text_content("#cine-play"))


def test_the_consistency_prompt_asks_once_and_a_hard_rule_refuses(
    viewer_study: Personas, page: Any, live_server: Any
) -> None:
    _open_round(page, live_server.url, 1)
    first = case_label(page)
    page.keyboard.press("b")
    page.locator("#confidence").fill("95")
    page.click("#submit")
    assert page.is_visible("#consistency")
    assert "benign with a confidence of malignancy of 95" in str(page.text_content("#consistency"))
    shot(page, "viewer-consistency-prompt")
    assert not Read.objects.filter(session__reader=viewer_study.bob).exists()
    page.click("#consistency-keep")
    page.wait_for_function(f"() => document.getElementById('case-label').textContent !== '{first}'")
    assert [(r.decision, r.confidence) for r in Read.objects.all()] == [("benign", 95)]

    viewer_study.study.consistency_rule = ConsistencyRule.REQUIRE
    viewer_study.study.save()
    page.reload()
    second = case_label(page)
    page.keyboard.press("m")
    page.locator("#confidence").fill("10")
    page.click("#submit")
    assert "requires" in str(page.text_content("#answer-error"))
    assert Read.objects.count() == 1
    page.locator("#confidence").fill("70")
    page.click("#submit")
    page.wait_for_function(
        f"() => document.getElementById('case-label').textContent !== '{second}'"
    )
    assert Read.objects.count() == 2


def test_a_reader_goes_back_corrects_a_read_with_a_reason_and_sees_the_end_of_the_session(
    viewer_study: Personas, page: Any, live_server: Any
) -> None:
    _open_round(page, live_server.url, 1)
    first = case_label(page)
    for _ in range(3):
        benign_and_next(page)
    # The end of the session: the last case and its Submit are gone.
    page.wait_for_selector("#done", state="visible")
    assert not page.is_visible("#viewer-area")
    assert not page.is_visible("#submit")
    shot(page, "viewer-session-complete")

    page.click("#earlier-open-done")
    page.click(f"#earlier-list button:has-text('{first}')")
    page.wait_for_function(f"() => document.getElementById('case-label').textContent === '{first}'")
    assert page.is_visible("#revising-badge")
    assert page.is_checked("input[value=benign]")  # the earlier answer, to change
    page.keyboard.press("m")
    page.locator("#confidence").fill("80")
    page.click("#submit")
    assert "Say why" in str(page.text_content("#answer-error"))
    page.fill("#reason", "missed the irregular margin")
    shot(page, "viewer-revision")
    page.click("#submit")
    page.wait_for_selector("#done", state="visible")
    reads = Read.objects.filter(case__key=_case_key(viewer_study, first)).order_by("revision")
    assert [(r.revision, r.decision, r.revision_reason) for r in reads] == [
        (1, "benign", ""),
        (2, "malignant", "missed the irregular margin"),
    ]


def _case_key(study: Personas, label: str) -> str:
    from readerstudy.reading.labels import case_for_label

    session = study.bob.sessions.get(round__index=1)
    pk = case_for_label(seed=session.seed, case_ids=session.permutation, label=label)
    assert pk is not None
    return str(study.study.cases.get(pk=pk).key)


def _complete_round_one(study: Personas) -> None:
    session = session_start(reader=study.bob, round=study.study.rounds.get(index=1))
    for case in study.study.cases.all():
        read_submit(session=session, case=case, decision="benign", confidence=10,  # type: ignore[arg-type]
                    nonce=uuid.uuid4(), active_ms=1, actor=study.bob.user)  # fmt: skip
    washout_override_grant(
        round=study.study.rounds.get(index=2), reader=study.bob, actor=study.alice, reason="test"
    )


def test_the_assisted_round_labels_each_views_probability_the_soft_vote_and_the_colour_bar(
    viewer_study: Personas, page: Any, live_server: Any
) -> None:
    _complete_round_one(viewer_study)
    _open_round(page, live_server.url, 2)
    _read_to(page, _label_of(viewer_study, "C1", 2))
    page.click("[data-layout='1x2']")
    _drawn(page)
    labels = page.locator(".vp-label").all_text_contents()
    assert any("AI, this view: 70% malignant" in t for t in labels), labels
    assert any("AI, this view: 90% malignant" in t for t in labels), labels
    result = str(page.text_content("#ai-result"))
    assert "soft vote, mean of 2 views" in result
    assert "80%" in result
    assert "relative within each view" in str(page.text_content("#heatmap-explains"))
    assert page.is_visible("#colour-bar")
    with_map = _canvas_sum(page)
    page.keyboard.press("h")
    assert _canvas_sum(page) < with_map
    page.keyboard.press("h")
    shot(page, "viewer-assisted-1x2")


@pytest.mark.parametrize("round_index", [1, 2])
def test_axe_finds_no_serious_or_critical_violation_on_the_reading_page(
    viewer_study: Personas, page: Any, live_server: Any, round_index: int
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    if round_index == 2:
        _complete_round_one(viewer_study)
    _open_round(page, live_server.url, round_index)
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def test_the_thumbnail_strip_shows_the_display_renditions_each_fetched_once(
    viewer_study: Personas, page: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strip scales down each view's display rendition, which the viewports draw too: the
    browser fetches each file once (one URL, kept by its cache) and never a thumbnail file."""
    from readerstudy.reading import files

    served: list[str] = []
    storage = files.default_storage

    class Counting:
        def open(self, name: str, mode: str = "rb") -> Any:
            served.append(name)
            return storage.open(name, mode)

    monkeypatch.setattr(files, "default_storage", Counting())  # the live server's thread too
    _open_round(page, live_server.url, 1)
    _read_to(page, _label_of(viewer_study, "C1"))
    _drawn(page)
    assert page.locator("#thumbs img").count() == 2
    for view in range(2):  # each thumbnail, then both views side by side
        page.locator("#thumbs button").nth(view).click()
        _drawn(page)
    page.click("[data-layout='1x2']")
    _drawn(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#thumbs img')].every(i => i.complete && i.naturalWidth)"
    )
    images = CaseImage.objects.filter(case__study=viewer_study.study)
    displays = {str(i.display.name) for i in images}
    frames = {name for i in images for name in i.frames}
    c1 = {str(i.display.name) for i in images if i.case.key == "C1"}
    assert c1 <= set(served), (c1, served)
    assert set(served) <= displays | frames, "a file that is no display or cine frame was served"
    assert len(served) == len(set(served)), f"a file was fetched twice: {sorted(served)}"
