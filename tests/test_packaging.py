"""Desktop integration files: the validators pass (when installed), the app id matches what the
app sets, the icons and MIME type are complete, and the launcher installs for one user."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmstudio import APP_ID

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME = LINUX / f"{APP_ID}.mime.xml"


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


@pytest.mark.skipif(
    not shutil.which("desktop-file-validate"),
    reason="desktop-file-validate not installed (Debian package desktop-file-utils)",
)
def test_desktop_file_passes_desktop_file_validate():
    out = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in out.stdout.lower(), out.stdout


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstreamcli not installed (Debian package appstream)")
def test_metainfo_passes_appstreamcli_validate():
    out = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_app_id_is_the_same_in_the_desktop_file_the_metainfo_and_the_running_app(qapp):
    from PySide6.QtGui import QGuiApplication

    from mmstudio.gui.app import create_application

    create_application()
    assert QGuiApplication.desktopFileName() == APP_ID
    assert DESKTOP.name == f"{APP_ID}.desktop"
    entry = _desktop_entry(DESKTOP)
    assert entry["Icon"] == APP_ID
    assert "application/x-mmstudio-project" in entry["MimeType"].split(";")
    assert entry["Exec"].startswith("mmstudio ") and "%f" in entry["Exec"]
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP.name
    assert root.find("developer/name").text
    assert root.findtext("supports/internet") == "offline-only"
    shots = [s.text for s in root.iter("image")]
    assert shots and all(s.startswith("https://") for s in shots)
    for url in shots:  # every screenshot the metainfo names is in the repository
        assert (ROOT / url.split("/main/", 1)[1]).is_file(), url


def test_icons_cover_the_hicolor_sizes():
    hicolor = LINUX / "icons" / "hicolor"
    assert (hicolor / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in (48, 128, 256):
        png = hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", png
        assert struct.unpack(">II", head[16:24]) == (size, size), png


def test_the_mime_type_matches_project_files():
    from mmstudio.project import MIME_TYPE, SUFFIX

    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(MIME).getroot().find("m:mime-type", ns)
    assert mime.get("type") == MIME_TYPE
    assert mime.find("m:glob", ns).get("pattern") == f"*{SUFFIX}"


def test_install_launcher_installs_and_removes_for_the_current_user(tmp_path):
    exe = tmp_path / "bin" / "mmstudio"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    data = tmp_path / "share"
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(data),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PATH": "/usr/bin:/bin",
    }
    script = LINUX / "install-launcher.sh"
    out = subprocess.run(["sh", str(script), str(exe)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    installed = data / "applications" / f"{APP_ID}.desktop"
    assert _desktop_entry(installed)["Exec"] == f'"{exe}" %f'
    assert (data / "mime" / "packages" / f"{APP_ID}.xml").is_file()
    assert (data / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").is_file()
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(installed)]).returncode == 0
    if shutil.which("update-mime-database"):  # the database now maps *.mmstudio to our type
        assert "application/x-mmstudio-project" in (data / "mime" / "globs2").read_text()
    out = subprocess.run(["sh", str(script), "--uninstall"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and not installed.exists()
    missing = subprocess.run(["sh", str(script), str(tmp_path / "nope")], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "not an executable" in missing.stderr


def test_the_pyinstaller_spec_takes_the_resources_and_the_entry_point():
    spec = (ROOT / "packaging" / "pyinstaller" / "mmstudio.spec").read_text()
    assert '"resources"' in spec and "launch.py" in spec and "COLLECT(" in spec
    assert (ROOT / "packaging" / "pyinstaller" / "launch.py").is_file()


def _exec_arguments(value: str) -> list[str]:
    """An Exec= value read back per the Desktop Entry spec: the string escapes first (``\\\\``,
    ``\\s``...), then quoted arguments (``\\`` before `` " ` $ \\ ``), then ``%%`` -> ``%``."""
    text, i = "", 0
    while i < len(value):  # string rule
        if value[i] == "\\" and i + 1 < len(value):
            text += {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(value[i + 1], "\\" + value[i + 1])
            i += 2
        else:
            text += value[i]
            i += 1
    args, current, quoted, i = [], None, False, 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
            current += text[i + 1]
            i += 1
        elif c == '"':
            quoted, current = not quoted, current if current is not None else ""
        elif c == " " and not quoted:
            if current is not None:
                args.append(current)
            current = None
        else:
            assert quoted or c not in '"`$\\', f"unquoted reserved character in {value!r}"
            current = (current or "") + c
        i += 1
    assert not quoted, f"unbalanced quotes in {value!r}"
    if current is not None:
        args.append(current)
    return [a.replace("%%", "%") if a != "%f" else a for a in args]


@pytest.mark.parametrize("folder", ["R&D apps", "100% sure", 'it\'s "quoted"', "cost $HOME `x` back\\slash"])
def test_install_launcher_escapes_the_path_per_the_desktop_entry_spec(tmp_path, folder):
    exe = tmp_path / folder / "mmstudio"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "share"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(["sh", str(LINUX / "install-launcher.sh"), str(exe)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    installed = tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    assert _exec_arguments(_desktop_entry(installed)["Exec"]) == [str(exe), "%f"]
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True, text=True)
        assert check.returncode == 0 and "error" not in check.stdout.lower(), check.stdout
