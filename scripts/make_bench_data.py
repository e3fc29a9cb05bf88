"""Make the benchmark datasets that are unlike the shared ones: other sources, other layouts.

    python scripts/make_bench_data.py OUT [--only NAME ...]

- ``debian_sections``: Debian package descriptions (from ``apt-cache dumpavail``) labelled by
  their archive section, 6 categories; a JSON Lines manifest whose label column is ``section``.
  Long, real English texts written by thousands of maintainers.
- ``shapes_zh``: drawn shapes (PIL) with three Chinese captions each, Flickr8k style: a
  ``captions.token.txt`` (``name.png#k<TAB>caption``) beside an ``Images/`` folder; for
  image<->caption retrieval. No spaces in the captions.
- ``shapes_said``: 400 items, a drawn shape and its name spoken by espeak-ng (varied voice, speed
  and pitch), labelled by shape; a semicolon-free CSV with unusual column names
  (``picture``, ``sound``, ``kind``).

- ``bright_count``: 1,200 items for the ``regress`` task: a 32 px grey picture whose brightness
  and a caption whose number (in words) each carry half of a known numeric target,
  ``price = 5 * brightness + 0.25 * count + noise`` (brightness in [0, 1], count 0-20); so a model
  that sees both can beat either alone. CSV ``picture,caption,price``.

Needs ``espeak-ng`` for ``shapes_said`` and ``apt-cache`` for ``debian_sections`` (Debian
packages); generation is seeded, so the same files come out every time.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import subprocess

from PIL import Image, ImageDraw

SHAPES = {
    "circle": "圆形",
    "square": "正方形",
    "triangle": "三角形",
    "star": "星形",
    "cross": "十字",
    "diamond": "菱形",
    "ring": "圆环",
    "bar": "横条",
}
COLOURS = {
    "red": ((220, 40, 40), "红色"),
    "green": ((40, 170, 60), "绿色"),
    "blue": ((40, 80, 220), "蓝色"),
    "yellow": ((230, 200, 30), "黄色"),
    "purple": ((140, 50, 170), "紫色"),
    "black": ((20, 20, 20), "黑色"),
}
PLACES = {"left": "左边", "right": "右边", "top": "上面", "bottom": "下面", "centre": "中间"}
SECTIONS = ("python", "games", "sound", "graphics", "science", "fonts")


def draw_shape(
    shape: str,
    colour: tuple[int, int, int],
    rng: random.Random,
    size: int = 64,
    place: str = "centre",
    big: bool = True,
) -> Image.Image:
    """One shape on a light, slightly noisy background at a place, size and rotation."""
    bg = tuple(rng.randint(225, 255) for _ in range(3))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    r = size * (0.22 if big else 0.13) * rng.uniform(0.9, 1.1)
    cx, cy = {
        "left": (0.28, 0.5),
        "right": (0.72, 0.5),
        "top": (0.5, 0.28),
        "bottom": (0.5, 0.72),
        "centre": (0.5, 0.5),
    }[place]
    cx, cy = cx * size + rng.uniform(-3, 3), cy * size + rng.uniform(-3, 3)
    turn = rng.uniform(0, math.pi / 6)

    def poly(points: int, radii: tuple[float, ...], start: float = -math.pi / 2) -> list:
        return [
            (
                cx + radii[i % len(radii)] * math.cos(start + turn + 2 * math.pi * i / points),
                cy + radii[i % len(radii)] * math.sin(start + turn + 2 * math.pi * i / points),
            )
            for i in range(points)
        ]

    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        d.ellipse(box, fill=colour)
    elif shape == "ring":
        d.ellipse(box, outline=colour, width=max(2, int(r / 3)))
    elif shape == "square":
        d.polygon(poly(4, (r * 1.3,), math.pi / 4), fill=colour)
    elif shape == "diamond":
        d.polygon(poly(4, (r * 1.2,), 0), fill=colour)
    elif shape == "triangle":
        d.polygon(poly(3, (r * 1.2,)), fill=colour)
    elif shape == "star":
        d.polygon(poly(10, (r * 1.25, r * 0.5)), fill=colour)
    elif shape == "cross":
        w = r / 3
        d.rectangle((cx - r, cy - w, cx + r, cy + w), fill=colour)
        d.rectangle((cx - w, cy - r, cx + w, cy + r), fill=colour)
    else:  # bar
        d.rectangle((cx - r * 1.3, cy - r / 3, cx + r * 1.3, cy + r / 3), fill=colour)
    return img


def make_shapes_zh(out: str, n: int = 700, seed: int = 1) -> None:
    """Flickr8k-style captions beside an image folder, three Chinese captions per image."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(out, "Images"), exist_ok=True)
    lines = []
    for i in range(n):
        shape, colour, place = rng.choice(list(SHAPES)), rng.choice(list(COLOURS)), rng.choice(list(PLACES))
        big = rng.random() < 0.5
        name = f"{i:05d}.png"
        draw_shape(shape, COLOURS[colour][0], rng, place=place, big=big).save(os.path.join(out, "Images", name))
        s, c, p, b = SHAPES[shape], COLOURS[colour][1], PLACES[place], "大" if big else "小"
        captions = [f"一个{b}的{c}{s}在{p}", f"{c}的{s}，位于图片{p}", f"图中{p}有一个{b}{c}{s}"]
        lines += [f"{name}#{k}\t{cap}" for k, cap in enumerate(captions)]
    with open(os.path.join(out, "captions.token.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def make_shapes_said(out: str, per_class: int = 50, seed: int = 2) -> None:
    """A shape drawn and its English name spoken, ``per_class`` of each of 8 shapes."""
    rng = random.Random(seed)
    for sub in ("pics", "sounds"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    voices = ["en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc"]
    rows = []
    for shape in SHAPES:
        for k in range(per_class):
            stem = f"{shape}{k:03d}"
            colour = rng.choice(list(COLOURS.values()))[0]
            draw_shape(shape, colour, rng, size=48, place=rng.choice(list(PLACES)), big=rng.random() < 0.6).save(
                os.path.join(out, "pics", stem + ".png")
            )
            wav = os.path.join(out, "sounds", stem + ".wav")
            subprocess.run(
                [
                    "espeak-ng",
                    "-v",
                    rng.choice(voices),
                    "-s",
                    str(rng.randint(120, 210)),
                    "-p",
                    str(rng.randint(20, 80)),
                    "-w",
                    wav,
                    shape,
                ],
                check=True,
            )
            rows.append({"picture": f"pics/{stem}.png", "sound": f"sounds/{stem}.wav", "kind": shape})
    rng.shuffle(rows)
    with open(os.path.join(out, "table.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["picture", "sound", "kind"])
        writer.writeheader()
        writer.writerows(rows)


def make_debian_sections(out: str, per_class: int = 350, seed: int = 3) -> None:
    """Package descriptions labelled by section, from this machine's Debian package lists."""
    text = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    by_section: dict[str, dict[str, str]] = {s: {} for s in SECTIONS}
    for block in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*(?:\n .*)*)", block, re.M))
        section = fields.get("Section", "").split("/")[-1]
        desc = fields.get("Description", "")
        if section in by_section and desc:
            lines = [ln.strip() for ln in desc.split("\n")]
            body = " ".join(ln for ln in lines if ln != ".")
            # One description per source package family: -dev/-doc twins would leak across splits.
            key = re.sub(r"-(dev|doc|dbg|data|common|bin|utils)$", "", fields.get("Package", ""))
            by_section[section].setdefault(key, body)
    rng = random.Random(seed)
    rows = []
    for section, descs in by_section.items():
        chosen = sorted(descs.values())
        rng.shuffle(chosen)
        rows += [{"section": section, "description": d} for d in chosen[:per_class]]
    rng.shuffle(rows)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "packages.jsonl"), "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
COUNT_TEMPLATES = (
    "a crate holding {n} apples",
    "{n} apples in the crate",
    "there are {n} apples here",
    "the box has {n} apples inside",
    "someone packed {n} apples",
)


def make_bright_count(out: str, n: int = 1200, seed: int = 4) -> None:
    """Brightness (image) and a count (text) that together give ``price`` (regress)."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(out, "pictures"), exist_ok=True)
    rows = []
    for i in range(n):
        level, count = rng.random(), rng.randint(0, 20)
        base = int(40 + 170 * level)
        img = Image.new("L", (32, 32), base)
        pixels = img.load()
        for y in range(32):
            for x in range(32):
                pixels[x, y] = max(0, min(255, base + rng.randint(-25, 25)))
        draw = ImageDraw.Draw(img)  # a random mark: a nuisance that carries nothing
        x0, y0 = rng.randint(0, 20), rng.randint(0, 20)
        draw.ellipse((x0, y0, x0 + rng.randint(5, 11), y0 + rng.randint(5, 11)), fill=rng.randint(0, 255))
        name = f"pictures/p{i:04d}.png"
        img.save(os.path.join(out, name))
        price = 5 * level + 0.25 * count + rng.gauss(0, 0.1)
        caption = rng.choice(COUNT_TEMPLATES).format(n=NUMBER_WORDS[count])
        rows.append({"picture": name, "caption": caption, "price": f"{price:.3f}"})
    with open(os.path.join(out, "items.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["picture", "caption", "price"])
        writer.writeheader()
        writer.writerows(rows)


MAKERS = {
    "bright_count": make_bright_count,
    "shapes_zh": make_shapes_zh,
    "shapes_said": make_shapes_said,
    "debian_sections": make_debian_sections,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--only", nargs="*", choices=sorted(MAKERS))
    args = parser.parse_args()
    for name in args.only or MAKERS:
        folder = os.path.join(args.out, name)
        if os.path.isdir(folder) and os.listdir(folder):
            print(f"{folder}: exists, kept")
            continue
        MAKERS[name](folder)
        print(f"{folder}: made")


if __name__ == "__main__":
    main()
