"""Packaging fixtures: the wheel built with `python -m build`, a fresh venv holding only that wheel, and the
PyInstaller bundle built by packaging/build-bundle.sh; each built once per session (the bundle takes about a minute).

Installed programs run as a person would run them: from another directory, with no checkout on any path, a minimal
PATH, a home and XDG dirs of their own, and (for the bundle) no Python environment at all. pip's cache is the
machine's own (the tests' isolated XDG_CACHE_HOME would otherwise make every run download the dependencies again).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
MINIMAL_PATH = "/usr/bin:/bin"
# read before any test isolates the user dirs: the cache a developer's and CI's pip already filled
PIP_CACHE_DIR = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip")


def build_env(**extra: str) -> dict[str, str]:
    """The environment for build steps: ours, pip settings kept, but nothing of the checkout on a path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("MEMO_")}
    env["PIP_CACHE_DIR"] = PIP_CACHE_DIR
    return {**env, **extra}


def run_build_step(argv: list[str], cwd: Path, timeout: float, **extra_env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=build_env(**extra_env), capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@dataclass
class Installation:
    """One installed memo-desktop (from the wheel, or the bundle) and a clean place to run it."""

    kind: str
    executable: Path
    root: Path  # the venv, or the bundle dir
    home: Path

    def environment(self, data_dir: Path, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.home), "PATH": MINIMAL_PATH, "LANG": "C.UTF-8",
                "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_DATA_HOME": str(self.home / ".local/share"),
                "XDG_CACHE_HOME": str(self.home / ".cache"), "XDG_STATE_HOME": str(self.home / ".local/state"),
                "MEMO_DATA_DIR": str(data_dir), **extra}

    def run(self, data_dir: Path, *args: str, timeout: float = 120, check: bool = True,
            **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(self.executable), *args], cwd=self.home,
                                env=self.environment(data_dir, **extra_env), capture_output=True, text=True,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, f"memo-desktop {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        return result

    def run_json(self, data_dir: Path, *args: str) -> object:
        return json.loads(self.run(data_dir, *args, "--json").stdout)

    def start(self, data_dir: Path, log: Path, *args: str, **extra_env: str) -> subprocess.Popen:
        """Start it in the background; its output goes to `log` (a pipe nobody reads could fill and block it)."""
        with open(log, "wb") as out:
            return subprocess.Popen([str(self.executable), *args], cwd=self.home,
                                    env=self.environment(data_dir, **extra_env), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT)

    @contextmanager
    def running(self, data_dir: Path, log: Path, *args: str, **extra_env: str) -> Iterator[subprocess.Popen]:
        """`start`, and kill it after the block unless the block ended it (see `stop_with_sigterm`)."""
        process = self.start(data_dir, log, *args, **extra_env)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def stop_with_sigterm(process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """What systemd, logout or `kill` do: SIGTERM; the process must exit 0."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout) == 0, log.read_text()


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    """`python -m build` of the checkout (sdist, then the wheel from the sdist, as a release would)."""
    out = tmp_path_factory.mktemp("dist")
    run_build_step([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], cwd=out, timeout=600)
    wheels = list(out.glob("memo_desktop-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="session")
def wheel_installation(built_wheel, tmp_path_factory) -> Iterator[Installation]:
    """A fresh venv (no --system-site-packages) with the wheel and its dependencies, nothing else."""
    root = tmp_path_factory.mktemp("wheel-install")
    venv = root / "venv"
    run_build_step([sys.executable, "-m", "venv", str(venv)], cwd=root, timeout=120)
    run_build_step([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(built_wheel)], cwd=root, timeout=900)
    home = root / "home"
    home.mkdir()
    yield Installation("wheel", venv / "bin" / "memo-desktop", venv, home)
    shutil.rmtree(root, ignore_errors=True)  # ~0.5 GB


@pytest.fixture(scope="session")
def bundle_installation(built_wheel, tmp_path_factory) -> Iterator[Installation]:
    """packaging/build-bundle.sh OUT_DIR --wheel <the session's wheel>, with the interpreter running the tests."""
    out = tmp_path_factory.mktemp("bundle")
    result = run_build_step([str(REPO / "packaging" / "build-bundle.sh"), str(out), "--wheel", str(built_wheel)],
                            cwd=out, timeout=1800, PYTHON=sys.executable)
    print(result.stdout.strip().splitlines()[-1])  # "bundle: DIR (SIZE, built in N s)", shown with -s
    home = out / "home"
    home.mkdir()
    yield Installation("bundle", out / "memo-desktop" / "memo-desktop", out / "memo-desktop", home)
    shutil.rmtree(out, ignore_errors=True)  # the bundle and its build venv: ~1.8 GB


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """A real X server (Xvfb) for the xcb platform plugin; its display name."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (Debian package xvfb; scripts/install.sh --test)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()  # Xvfb writes the display number once it accepts connections
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(params=["wheel", "bundle"])
def installation(request) -> Iterator[Installation]:
    yield request.getfixturevalue(f"{request.param}_installation")
