"""The Qt binding itself must survive a long session: every Python-side ``Signal.emit()`` must
leave the reference counts of True, False and None as they were (PySide6 6.12.0 did not: each
emit dropped one reference to a bool, and under Python 3.11 the app aborted after a few thousand
signals with "bool_dealloc"). Run in a subprocess, so a broken binding fails the test instead of
killing the test run."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication([])

class Source(QObject):
    text = Signal(str)
    value = Signal(object)

class Sink(QObject):
    @Slot(str)
    def on_text(self, s): pass
    def on_value(self, v): return None

src, sink, label = Source(), Sink(), QLabel()
src.text.connect(sink.on_text)
src.text.connect(label.setText)
src.value.connect(sink.on_value)
before = [sys.getrefcount(o) for o in (True, False, None)]
for i in range(20000):
    src.text.emit("x")
    src.value.emit(None)
after = [sys.getrefcount(o) for o in (True, False, None)]
print(json.dumps([a - b for a, b in zip(after, before)]))
"""


def test_signal_emit_keeps_reference_counts():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"the Qt binding crashed after many emits:\n{proc.stderr[-1500:]}"
    drift = json.loads(proc.stdout.strip().splitlines()[-1])
    # a few references may come and go with caches; a leak would be thousands
    assert all(abs(d) < 100 for d in drift), f"reference counts drifted by {drift} over 40,000 emits"
