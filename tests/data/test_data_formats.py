"""Every accepted file format decodes, through the same calls the preview and training use."""

from __future__ import annotations

import numpy as np
import pytest
from data_makers import (
    AUDIO_FORMATS,
    IMAGE_FORMATS,
    SAMPLE_RATE,
    bomb_png,
    write_audio,
    write_image,
)

from mmstudio.data import modality_of, open_dataset, read_audio, read_image, read_text
from mmstudio.data.formats import check_audio, check_image, check_text_file


@pytest.mark.parametrize("ext", sorted(IMAGE_FORMATS))
def test_every_image_format_decodes(tmp_path, ext):
    path = write_image(tmp_path / f"x{ext}", k=1, size=28)
    assert modality_of(path) == "image"
    assert check_image(str(path)) is None
    img = read_image(path)
    assert img.size == (28, 28)
    assert img.mode in ("L", "RGB")
    # the class pattern survives (even JPEG keeps a bright bar on a dark background)
    pixels = np.asarray(img.convert("L"), dtype=float)
    assert pixels.max() > 150 and pixels.mean() < 120


@pytest.mark.parametrize("ext", sorted(AUDIO_FORMATS))
def test_every_audio_format_decodes(tmp_path, ext):
    path = write_audio(tmp_path / f"x{ext}", k=2, seconds=0.25)
    assert modality_of(path) == "audio"
    assert check_audio(str(path)) is None
    wave, rate = read_audio(path)
    assert rate == SAMPLE_RATE
    assert wave.ndim == 1 and wave.dtype == np.float32
    # lossy codecs pad or trim a little; the clip is still about a quarter of a second
    assert abs(len(wave) / rate - 0.25) < 0.1
    assert 0.1 < np.abs(wave).max() <= 1.0


def test_text_is_utf8_with_or_without_bom(tmp_path):
    plain = tmp_path / "a.txt"
    plain.write_text("naïve café – ok\n", encoding="utf-8")
    bom = tmp_path / "b.txt"
    bom.write_bytes("\ufeffwith bom".encode())
    assert read_text(plain) == "naïve café – ok"
    assert read_text(bom) == "with bom"
    assert check_text_file(str(plain)) == ("naïve café – ok", None)


def test_read_image_refuses_a_decompression_bomb(tmp_path):
    from PIL import Image

    path = bomb_png(tmp_path / "bomb.png", side=400)
    with pytest.raises(Image.DecompressionBombError, match="over the limit"):
        read_image(path, max_pixels=400 * 400 - 1)
    assert read_image(path, max_pixels=400 * 400).size == (400, 400)
    # the limit is ours, per call: Pillow's process-wide setting is left as it was
    before = Image.MAX_IMAGE_PIXELS
    check_image(str(path), max_pixels=10)
    assert before == Image.MAX_IMAGE_PIXELS


def test_mixed_formats_in_one_class_folder_dataset(tmp_path):
    root = tmp_path / "mixed"
    for k, label in enumerate(("cat", "dog")):
        for i, ext in enumerate(sorted(IMAGE_FORMATS)):
            write_image(root / label / f"{label}{i}{ext}", k, i)
    ds = open_dataset(str(root))
    assert ds.layout == "class_folders"
    assert ds.problems == []
    assert ds.labels() == {"cat": len(IMAGE_FORMATS), "dog": len(IMAGE_FORMATS)}
    assert {p.rsplit(".", 1)[1] for p in (it.image for it in ds.items)} == {e[1:] for e in IMAGE_FORMATS}


def test_reading_images_on_many_threads_leaves_pillow_settings_alone(tmp_path):
    """The preview reads thumbnails while a scan checks files: per-call limits must not leak."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    path = write_image(tmp_path / "x.png")
    before = Image.MAX_IMAGE_PIXELS

    def work(i: int) -> tuple[int, int]:
        limit = None if i % 3 == 0 else 10_000 + i
        return read_image(path, max_pixels=limit).size

    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(work, range(400)))
    assert set(sizes) == {(28, 28)}
    assert before == Image.MAX_IMAGE_PIXELS
