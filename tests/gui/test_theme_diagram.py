"""The fusion diagram reads in both themes: over a light → dark → light round trip, every node's
text against its fill, every border and edge against the canvas, is at 4.5:1 or more, from the
colours drawn and from grabbed pixels (the dark theme's "head" node was faint)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from mmstudio.gui import theme
from mmstudio.gui.settings import apply_theme
from mmstudio.gui.widgets.fusion_diagram import MIN_CONTRAST, FusionDiagram

#: (modalities, fusion, task): each kind of drawing the panel can ask for.
MODELS = [
    (("image",), "concat", "classify"),
    (("image", "audio"), "early", "classify"),
    (("image", "text", "audio"), "attention", "classify+align"),
    (("image", "audio"), "late", "classify"),
    (("image", "audio"), "concat", "generate"),
]


@pytest.fixture(autouse=True)
def _system_theme_after():
    yield
    apply_theme(QApplication.instance(), "system")


def _contrast(a: QColor, b: QColor) -> float:
    return theme.contrast_ratio(QColor(a), QColor(b))


def _colour_problems(diagram: FusionDiagram, name: str) -> list[str]:
    canvas = diagram.palette().color(QPalette.ColorRole.Base)
    bad = []
    if _contrast(diagram.edge_colour, canvas) < MIN_CONTRAST:
        bad.append(f"{name}: edges {diagram.edge_colour.name()} on {canvas.name()}")
    for node in diagram.nodes:
        if _contrast(node["ink"], node["fill"]) < MIN_CONTRAST:
            bad.append(f"{name}: {node['label']!r} text {node['ink'].name()} on {node['fill'].name()}")
        edge = node["border"] if node["fill"] == canvas else node["fill"]
        if _contrast(edge, canvas) < MIN_CONTRAST:
            bad.append(f"{name}: {node['label']!r} box {edge.name()} on {canvas.name()}")
    return bad


def _pixels_readable(image, node, ratio: float) -> bool:
    """The node's inside shows its fill, and its label's pixels stand out from it."""
    r = node["rect"].toRect().adjusted(3, 3, -3, -3)
    fill = node["fill"]
    seen_fill = seen_ink = False
    for y in range(r.top(), r.bottom()):
        for x in range(r.left(), r.right()):
            c = image.pixelColor(int(x * ratio), int(y * ratio))
            seen_fill |= c.name() == fill.name()
            seen_ink |= _contrast(c, fill) >= MIN_CONTRAST
    return seen_fill and seen_ink


def test_every_node_edge_and_label_of_the_diagram_reads_in_both_themes(qtbot):
    app = QApplication.instance()
    diagram = FusionDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(560, 180)
    diagram.show()
    qtbot.waitExposed(diagram)
    for name in ("light", "dark", "light"):
        apply_theme(app, name)
        assert theme.current().name == name
        problems: list[str] = []
        for mods, fusion, task in MODELS:
            diagram.set_model(mods, fusion, task)
            image = diagram.grab().toImage()  # paints now, in this theme
            labels = [n["label"] for n in diagram.nodes]
            assert "encoder" in labels, (name, task, labels)
            problems += _colour_problems(diagram, f"{name} {fusion} {task}")
            ratio = diagram.devicePixelRatioF()
            for node in diagram.nodes:
                if not node["label"].startswith("align:") and not _pixels_readable(image, node, ratio):
                    problems.append(f"{name} {fusion}: {node['label']!r} not readable in the pixels")
        assert not problems, problems[:8]


def test_the_dark_heads_are_drawn_in_light_ink_on_the_dark_canvas(qtbot):
    apply_theme(QApplication.instance(), "dark")
    diagram = FusionDiagram()
    qtbot.addWidget(diagram)
    diagram.resize(560, 180)
    diagram.set_model(("image", "audio"), "concat", "classify")
    diagram.grab()
    head = next(n for n in diagram.nodes if n["label"] == "head")
    canvas = diagram.palette().color(QPalette.ColorRole.Base)
    assert head["fill"] == canvas and head["ink"].lightness() > canvas.lightness() + 100
    assert _contrast(head["border"], canvas) >= MIN_CONTRAST
