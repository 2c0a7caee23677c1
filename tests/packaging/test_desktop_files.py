"""The desktop entry, AppStream metainfo and icon: valid for the freedesktop validators, one application id
everywhere, release notes for the package's version, and `install-desktop` into an XDG data dir and back out."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import memo_desktop
from memo_desktop.cli import main
from memo_desktop.core import desktop_integration
from memo_desktop.core.installation import APP_ID, launch_command, resource

RESOURCES = Path(memo_desktop.__file__).parent / "resources"


def _validate(*argv: str) -> None:
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is not installed (scripts/install.sh --test installs it)")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr


def _entry_keys(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_the_packaged_files_pass_the_validators():
    _validate("desktop-file-validate", str(RESOURCES / f"{APP_ID}.desktop"))
    _validate("appstreamcli", "validate", "--no-net", str(RESOURCES / f"{APP_ID}.metainfo.xml"))


def test_one_reverse_dns_application_id_everywhere():
    assert APP_ID.count(".") >= 2 and APP_ID.split(".")[0] in ("io", "org", "com", "net")
    assert sorted(p.name for p in RESOURCES.iterdir()) == sorted(
        [f"{APP_ID}.desktop", f"{APP_ID}.metainfo.xml", f"{APP_ID}.svg"])
    component = ET.parse(RESOURCES / f"{APP_ID}.metainfo.xml").getroot()
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable[@type='desktop-id']") == f"{APP_ID}.desktop"
    assert _entry_keys((RESOURCES / f"{APP_ID}.desktop").read_text())["Icon"] == APP_ID
    # Qt's desktop file name (Wayland app id) is the same id; the UI sets it from the constant
    application = (Path(memo_desktop.__file__).parent / "ui" / "application.py").read_text()
    assert "setDesktopFileName(APP_ID)" in application


def test_the_metainfo_has_release_notes_for_this_version_a_screenshot_url_and_a_content_rating():
    component = ET.parse(RESOURCES / f"{APP_ID}.metainfo.xml").getroot()
    newest = component.find("releases/release")
    assert newest is not None and newest.get("version") == memo_desktop.__version__, \
        "add a <release> with notes when the version changes"
    assert newest.find("description/p") is not None
    assert component.findtext("screenshots/screenshot/image").startswith("https://")
    assert component.find("content_rating").get("type").startswith("oars-")


@pytest.mark.parametrize("argv, value", [
    (["/opt/memo-desktop/memo-desktop"], "/opt/memo-desktop/memo-desktop"),
    (["/home/a b/venv/bin/memo-desktop"], '"/home/a b/venv/bin/memo-desktop"'),
    (["/usr/bin/python3", "-m", "memo_desktop"], "/usr/bin/python3 -m memo_desktop"),
    (['/x/it\'s "$HOME"\\100%/memo-desktop'], '"/x/it\'s \\\\"\\\\$HOME\\\\"\\\\\\\\100%%/memo-desktop"'),
])
def test_exec_values_are_quoted_as_the_desktop_entry_spec_asks(argv, value, tmp_path):
    assert desktop_integration.exec_value(argv) == value
    entry = tmp_path / f"{APP_ID}.desktop"
    entry.write_text(desktop_integration.desktop_entry(argv))
    _validate("desktop-file-validate", str(entry))


def test_install_desktop_and_uninstall_leave_other_applications_alone(tmp_path, monkeypatch, capsys):
    data_home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    foreign = data_home / "applications" / "org.example.Other.desktop"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Desktop Entry]\n")

    assert main(["install-desktop"]) == 0
    entry = data_home / "applications" / f"{APP_ID}.desktop"
    keys = _entry_keys(entry.read_text())
    assert keys["Exec"] == desktop_integration.exec_value(launch_command())
    assert (data_home / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg").read_bytes() == \
        resource(f"{APP_ID}.svg").read_bytes()
    assert (data_home / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert main(["install-desktop"]) == 0, "installing again replaces the files"
    _validate("desktop-file-validate", str(entry))

    assert main(["install-desktop", "--uninstall"]) == 0
    assert sorted(p for p in data_home.rglob("*") if p.is_file()) == [foreign]
    assert not (data_home / "icons").exists() and not (data_home / "metainfo").exists()
    assert main(["install-desktop", "--uninstall"]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_an_unwritable_data_dir_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main(["install-desktop"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("memo-desktop: error: cannot write ") and err.count("\n") == 1, err


def test_the_launch_command_falls_back_to_the_interpreter(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["pytest"])
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    assert launch_command() == [str(tmp_path / "python3"), "-m", "memo_desktop"]
    script = tmp_path / "memo-desktop"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert launch_command() == [str(script)], "the console script beside the interpreter (a venv's bin/)"
