"""The importer caches the model-input crop; precompute trusts it to be the crop the model was
trained on. The importer (no torch) and the inference core share `inference.geometry`; this checks
that they agree on every lesion box."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.preprocess import crop, enlarged_box
from readerstudy.studies.imaging import model_input_crop


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(8, 400),
    height=st.integers(8, 400),
    data=st.data(),
)
def test_the_importers_crop_is_the_inference_cores_crop(
    width: int, height: int, data: st.DataObject
) -> None:
    x = data.draw(st.integers(0, width - 1))
    y = data.draw(st.integers(0, height - 1))
    w = data.draw(st.integers(1, width - x))
    h = data.draw(st.integers(1, height - y))
    image = np.arange(width * height, dtype=np.int64).reshape(height, width)
    box = enlarged_box((x, y, w, h), image.shape, scale=1.3)
    np.testing.assert_array_equal(model_input_crop(image, (x, y, w, h)), crop(image, box))
