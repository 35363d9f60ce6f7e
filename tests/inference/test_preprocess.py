from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inference.geometry import clipped, pad_clipped_crop
from inference.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CropBox,
    Preprocessing,
    crop,
    enlarged_box,
    heatmap_to_display,
    model_input,
    normalise,
)


def hand_example() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A 12×12 image whose lesion box (3, 3, 6, 6) enlarged 1.3× is the 8×8 crop at (2, 2):
    centre 6, half-width 3.9 → columns round(2.1) = 2 to round(9.9) = 10."""
    crop = np.zeros((8, 8), np.uint8)
    crop[:4, :4] = 10
    crop[:4, 4:] = np.tile(np.array([[50], [200]], np.uint8), (2, 4))
    crop[4:, :4] = np.tile(np.array([[90, 90], [90, 200]], np.uint8), (2, 2))
    crop[4:, 4:] = np.tile(np.array([[50, 50], [90, 200]], np.uint8), (2, 2))
    image = np.full((12, 12), 255, np.uint8)  # outside the crop: must not enter the histogram
    image[2:10, 2:10] = crop
    return np.repeat(image[:, :, None], 3, axis=2), (3, 3, 6, 6)


def test_preprocessing_equals_the_hand_computed_example() -> None:
    image, roi = hand_example()
    spec = Preprocessing(size=4)

    grey, box = model_input(image, roi, spec)

    assert box == CropBox(2, 2, 10, 10)
    # Each of 10, 50, 90, 200 fills 16 of the 64 crop pixels, so equalisation maps them to
    # 0, 16·255/48 = 85, 170 and 255 (OpenCV: cumulative count after the first bin × 255/48).
    # INTER_AREA halves exactly: the mean of each 2×2 block, e.g. (170·3 + 255)/4 = 191.25 → 191
    # and (85 + 85 + 170 + 255)/4 = 148.75 → 149.
    expected = np.array(
        [[0, 0, 170, 170], [0, 0, 170, 170], [191, 191, 149, 149], [191, 191, 149, 149]], np.uint8
    )
    np.testing.assert_array_equal(grey, expected)

    x = normalise(torch.from_numpy(grey)[None], spec)
    assert x.shape == (1, 3, 4, 4)
    assert x.dtype == torch.float32
    for c in range(3):
        hand = (expected / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        np.testing.assert_allclose(x[0, c].numpy(), hand, atol=1e-6)
    # e.g. the red channel of 170: (2/3 − 0.485) / 0.229 = 0.79330…
    assert x[0, 0, 0, 2].item() == pytest.approx((170 / 255 - 0.485) / 0.229, abs=1e-6)


def test_colour_tint_is_removed_by_grey_equalisation() -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(40, 40), dtype=np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    spec = Preprocessing(size=20)
    plain, _ = model_input(rgb, None, spec)
    # A monotone tint (brighter, warmer) keeps the grey-level order, which is all equalisation sees.
    tinted = np.clip(rgb.astype(np.int32) * np.array([1.0, 0.9, 0.7]) + 10, 0, 255).astype(np.uint8)
    warm, _ = model_input(tinted, None, spec)
    assert np.mean(np.abs(plain.astype(int) - warm.astype(int))) < 6


def test_grey_and_rgb_inputs_give_the_same_model_input() -> None:
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, size=(30, 50), dtype=np.uint8)
    spec = Preprocessing(size=16)
    a, _ = model_input(grey, (10, 5, 20, 15), spec)
    b, _ = model_input(np.repeat(grey[:, :, None], 3, axis=2), (10, 5, 20, 15), spec)
    np.testing.assert_array_equal(a, b)


def test_enlarged_box_at_an_image_edge_keeps_its_centre_and_size() -> None:
    # The example: ROI (0, 0, 100, 50) enlarged 1.3× is 130×65 about (50, 25). Clipped,
    # it was 115×58 about (57.5, 29); now its edges are round(50 ∓ 65) = −15, 115 and
    # round(25 ∓ 32.5) = −8, 58 (Python rounds halves to even): 130×66, centre exactly (50, 25).
    box = enlarged_box((0, 0, 100, 50), (300, 400))
    assert box == CropBox(-15, -8, 115, 58)
    assert ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2) == (50, 25)
    # Bottom-right: centre 32.5, half 9.75 → 22.75 → 23 and 42.25 → 42, past the 40 px image.
    assert enlarged_box((25, 25, 15, 15), (40, 40, 3)) == CropBox(23, 23, 42, 42)
    # Inside: exactly 1.3× the box, rounded, as before.
    box = enlarged_box((10, 10, 20, 10), (40, 40))
    assert (box.width, box.height) == (26, 14)
    assert (box.x0 + box.x1) / 2 == 20


def test_the_crop_is_black_where_the_enlarged_box_leaves_the_image() -> None:
    image = np.arange(1, 41 * 31 + 1, dtype=np.int64).reshape(31, 41) % 250 + 1
    box = enlarged_box((0, 0, 20, 10), image.shape)  # −3..23 × −2..12 (half-even rounding)
    assert box == CropBox(-3, -2, 23, 12)
    out = crop(image, box)
    assert out.shape == (14, 26)
    assert (out[:2] == 0).all()
    assert (out[:, :3] == 0).all()
    np.testing.assert_array_equal(out[2:, 3:], image[0:12, 0:23])
    rgb = np.repeat(image[:, :, None], 3, axis=2)
    assert crop(rgb, box).shape == (14, 26, 3)


def test_an_edge_lesion_stays_centred_in_the_model_input() -> None:
    # A bright lesion touching the top-left corner; the model input is square and the lesion's
    # centre of mass sits at its centre, as for a lesion in the middle of the image.
    image = np.zeros((120, 160), np.uint8)
    image[:20, :40] = 200
    image[20:, 40:] = 60
    spec = Preprocessing(size=65)
    grey, box = model_input(image, (0, 0, 40, 20), spec)
    assert (box.width, box.height) == (52, 26)
    rows, cols = np.nonzero(grey == grey.max())
    assert abs(rows.mean() - 32) <= 1
    assert abs(cols.mean() - 32) <= 1


def test_black_padding_leaves_the_equalisation_of_a_crop_with_black_pixels_unchanged() -> None:
    rng = np.random.default_rng(3)
    inside = rng.integers(0, 256, size=(30, 40), dtype=np.uint8)
    inside[0, 0] = 0  # the crop shows black somewhere, as ultrasound frames do
    padded = np.zeros((50, 60), np.uint8)
    padded[10:40, 5:45] = inside
    np.testing.assert_array_equal(cv2.equalizeHist(padded)[10:40, 5:45], cv2.equalizeHist(inside))


def test_a_crop_cached_clipped_is_padded_to_the_full_box() -> None:
    image = (np.arange(60 * 80 * 3) % 251).astype(np.uint8).reshape(60, 80, 3)
    roi = (0, 10, 30, 20)
    box = enlarged_box(roi, image.shape)
    inside = clipped(box, image.shape)
    legacy = image[inside.y0 : inside.y1, inside.x0 : inside.x1]
    np.testing.assert_array_equal(pad_clipped_crop(legacy, roi, image.shape), crop(image, box))
    assert pad_clipped_crop(crop(image, box), roi, image.shape).shape == (26, 38, 3)
    with pytest.raises(ValueError, match="cached crop"):
        pad_clipped_crop(legacy[:-1], roi, image.shape)


def test_enlarged_box_outside_the_image_is_rejected() -> None:
    with pytest.raises(ValueError, match="outside"):
        enlarged_box((50, 0, 10, 10), (40, 40))
    with pytest.raises(ValueError, match="outside"):
        enlarged_box((5, 5, 0, 10), (40, 40))


def test_heatmap_maps_back_onto_the_displayed_crop() -> None:
    heat = np.array([[10, 20], [30, 40]], np.uint8)
    box = CropBox(2, 2, 6, 6)

    same = heatmap_to_display(
        heat, box, display_shape=(8, 8), display_scale=1.0, interpolation=cv2.INTER_NEAREST
    )
    expected = np.zeros((8, 8), np.uint8)
    expected[2:4, 2:4], expected[2:4, 4:6] = 10, 20
    expected[4:6, 2:4], expected[4:6, 4:6] = 30, 40
    np.testing.assert_array_equal(same, expected)

    # Displayed at half size: the crop (2..6) shows as display pixels 1..3, one per heat pixel.
    half = heatmap_to_display(
        heat, box, display_shape=(4, 4), display_scale=0.5, interpolation=cv2.INTER_NEAREST
    )
    np.testing.assert_array_equal(
        half, np.array([[0, 0, 0, 0], [0, 10, 20, 0], [0, 30, 40, 0], [0, 0, 0, 0]])
    )

    # Bilinear on pixel centres: display column 3 is heat column 0.25 → 10 + 0.25·10 = 12.5.
    smooth = heatmap_to_display(heat, box, display_shape=(8, 8), display_scale=1.0)
    assert smooth[2, 3] in (12, 13)
    assert smooth[2, 2] == 10
    assert smooth[5, 5] == 40
    assert smooth[:2].sum() == 0
    assert smooth[:, 6:].sum() == 0


def test_heatmap_of_a_crop_past_the_edge_covers_exactly_its_display_box() -> None:
    box = enlarged_box((0, 10, 30, 20), (60, 80))  # reaches past the left edge
    assert box == CropBox(-4, 7, 34, 33)
    full = np.full((16, 16), 255, np.uint8)
    shown = heatmap_to_display(full, box, display_shape=(45, 60), display_scale=0.75)
    # A display pixel belongs to the crop when its centre (c + ½)/0.75 lies in the box:
    # columns 0..24 (34·0.75 = 25.5), rows 5..24 (7·0.75 = 5.25, 33·0.75 = 24.75).
    rows, cols = np.nonzero(shown)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (0, 24, 5, 24)
    assert (shown[5:25, 0:25] == 255).all()
    # The heatmap's columns are spread over the whole box, the part outside the image too: a
    # heatmap that is bright only in its right half lights display columns from 15·0.75 on.
    half = np.zeros((16, 16), np.uint8)
    half[:, 8:] = 255
    shown = heatmap_to_display(
        half, box, display_shape=(45, 60), display_scale=0.75, interpolation=cv2.INTER_NEAREST
    )
    assert np.nonzero(shown[10])[0].min() == 11  # box centre column 15 → display 11.25 − ½


def test_preprocessing_spec_round_trips_through_a_dict() -> None:
    spec = Preprocessing(size=112)
    data = spec.to_dict()
    assert data["mean"] == list(IMAGENET_MEAN)
    assert Preprocessing.from_dict(data) == spec
    with pytest.raises(ValueError, match="unknown"):
        Preprocessing.from_dict({**data, "gamma": 2})
