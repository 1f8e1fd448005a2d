"""The package as a user installs it (issue 21.7): a wheel built from this tree installs into a fresh virtual
environment and runs the demo there, with its version and schema versions where a user looks for them."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import weirdkinetics

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_packages_and_the_clis():
    from importlib.metadata import version

    assert weirdkinetics.__version__ == version("weirdkinetics")
    out = subprocess.run([sys.executable, "-m", "weirdkinetics", "--version"], capture_output=True, text=True)
    assert out.stdout.strip().endswith(weirdkinetics.__version__)


@pytest.mark.slow
def test_a_wheel_installs_in_a_fresh_venv_and_runs_the_demo(tmp_path):
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    # --no-isolation: build with this environment's setuptools instead of fetching one
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("weirdkinetics-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "weirdkinetics/cli.py" in names and not any(n.startswith("tests/") for n in names)

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    # the dependencies (torch and the rest, several GB) come from this environment's site-packages as a plain
    # path: a path listed in a .pth file has its own .pth files ignored, so this tree's editable install stays
    # out and the wheel's copy is the one imported
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [python, "-c", "import weirdkinetics; print(weirdkinetics.__file__)"], capture_output=True, text=True
    )
    assert where.stdout.startswith(purelib), where.stdout + where.stderr
    demo = subprocess.run(
        [env / "bin" / "weirdkinetics", "demo", "--small", "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (tmp_path / "demo" / "report" / "report.html").is_file()
