"""Images are decoded upright: the EXIF orientation a camera writes is applied for training and
evaluation, as viewers and the Data panel's thumbnails show them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mmstudio.data import read_image


def test_read_image_applies_the_exif_orientation(tmp_path):
    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[:, :10] = 255  # a bright band on the left of a landscape image
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "sideways.jpg", exif=exif, quality=100)
    img.save(tmp_path / "plain.png")
    upright = np.asarray(read_image(tmp_path / "sideways.jpg"))
    assert upright.shape == (40, 20)  # portrait now
    assert upright[:10].mean() > 200 and upright[-10:].mean() < 50  # the band is on top
    assert np.asarray(read_image(tmp_path / "plain.png")).shape == (20, 40)  # no tag: unchanged
