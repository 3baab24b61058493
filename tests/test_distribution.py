"""Adamas as a distribution: the wheel and sdist of ``python -m build``, and the wheel installed alone.

The build and the install are real (an isolated ``python -m build``; a fresh virtual environment in a
temporary folder outside the repository, dependencies from the package index), so these tests are marked
``slow``; ``make test`` runs them. The installed ``adamas`` must find everything it needs inside the
package: the KP data pack above all (issue 7: nothing may come from a ``shared/`` folder beside the repo).
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest

import adamas
from adamas.data import KP_FILES
from adamas.ledger.policy import kp_policy_bodies
from conftest import REPO

PACKAGE = REPO / "src" / "adamas"
LICENSE_EXPRESSION = "Apache-2.0 AND CC-BY-4.0 AND MIT AND ISC"


def _run(*args: str | Path, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a command with no Adamas settings and no path into the repository; its output, checked later."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ADAMAS_") and k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _package_files() -> set[str]:
    """Every file of the package in the source tree, as it must appear in the wheel (``adamas/...``)."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel and the sdist of the working tree, built once for this module."""
    out = tmp_path_factory.mktemp("dist")
    _ok(_run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=out))
    (wheel,) = out.glob("adamas-*.whl")
    (sdist,) = out.glob("adamas-*.tar.gz")
    return wheel, sdist


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zipped:
        name = next(n for n in zipped.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zipped.read(name))


def test_the_version_has_one_source() -> None:
    assert adamas.__version__ == importlib.metadata.version("adamas")
    assert re.fullmatch(r"\d+\.\d+\.\d+", adamas.__version__)
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{adamas.__version__}]" in changelog
    assert "## [Unreleased]" in changelog


# A path into a ``shared/`` folder beside the repository: "shared" as a path part, or ``../shared``.
SHARED_PATH = re.compile(r"""["']shared["']|\.\./shared\b|/work/shared\b""")


def test_nothing_reads_a_shared_folder_beside_the_repository() -> None:
    """Code, tests, benchmarks and scripts carry what they read (issue 7): no path into ``../shared``."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("src", "tests", "benchmarks", "scripts")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SHARED_PATH.search(line)
    ]
    assert not offenders


@pytest.mark.slow
def test_the_wheel_holds_the_package_its_data_and_nothing_else(dist: tuple[Path, Path]) -> None:
    wheel, _ = dist
    with zipfile.ZipFile(wheel) as zipped:
        names = set(zipped.namelist())
    version = adamas.__version__
    assert wheel.name == f"adamas-{version}-py3-none-any.whl"
    assert {name.split("/")[0] for name in names} == {"adamas", f"adamas-{version}.dist-info"}
    assert {f"adamas/data/kp/{name}" for name in (*KP_FILES, "SOURCES.txt", "README.md")} <= names
    assert "adamas/py.typed" in names
    # Every file of the source package ships: a template or data file left out of package-data fails here.
    assert _package_files() <= names
    assert not [n for n in names if re.search(r"(^|/)(tests|benchmarks|scripts)/|\.pyc$|\.db$", n)]
    assert f"adamas-{version}.dist-info/licenses/LICENSE" in names


@pytest.mark.slow
def test_the_wheel_metadata(dist: tuple[Path, Path]) -> None:
    meta = _metadata(dist[0])
    assert meta["Name"] == "adamas"
    assert meta["Version"] == adamas.__version__
    assert meta["License-Expression"] == LICENSE_EXPRESSION
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Author"] or meta["Author-email"]
    assert meta["Keywords"]
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the SPDX expression says it
    assert {url.split(",")[0] for url in meta.get_all("Project-URL") or []} >= {
        "Homepage",
        "Source",
        "Issues",
    }
    assert "adamas = adamas.cli:main" in _entry_points(dist[0])


def _entry_points(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zipped:
        name = next(n for n in zipped.namelist() if n.endswith(".dist-info/entry_points.txt"))
        return zipped.read(name).decode()


@pytest.mark.slow
def test_the_sdist_holds_the_sources_tests_vectors_and_changelog(dist: tuple[Path, Path]) -> None:
    _, sdist = dist
    root = f"adamas-{adamas.__version__}"
    with tarfile.open(sdist) as tar:
        names = {name.removeprefix(f"{root}/") for name in tar.getnames()}
    assert {
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "PKG-INFO",
        "tests/vectors/SOURCES.md",
        "tests/vectors/tlog/signed_note_vectors.json",
        "src/adamas/py.typed",
    } <= names
    assert {f"src/{name}" for name in _package_files()} <= names
    assert not [n for n in names if re.search(r"(^|/)(\.venv|\.git|demo|__pycache__)(/|$)|\.db$", n)]


@pytest.mark.slow
def test_the_installed_wheel_runs_init_load_kp_and_the_demo(dist: tuple[Path, Path], tmp_path: Path) -> None:
    """From a folder outside the repository, in a virtual environment holding only the wheel and its
    dependencies: ``adamas init``, ``adamas policy load-kp`` (the packaged KP pack) and ``adamas demo``."""
    assert not tmp_path.resolve().is_relative_to(REPO)
    assert not (tmp_path.parent / "shared").exists()
    venv = tmp_path / "venv"
    _ok(_run(sys.executable, "-m", "venv", venv, cwd=tmp_path))
    python = venv / "bin" / "python"
    _ok(_run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", dist[0], cwd=tmp_path))
    work = tmp_path / "work"
    work.mkdir()

    where = _ok(_run(python, "-c", "import adamas; print(adamas.__file__, adamas.__version__)", cwd=work))
    module, version = where.split()
    assert Path(module).resolve().is_relative_to(venv.resolve())
    assert version == adamas.__version__

    cli = venv / "bin" / "adamas"
    _ok(
        _run(
            cli,
            "init",
            "--db",
            "sqlite:///kp.db",
            "--admin-key",
            "admin.pem",
            "--origin",
            "kp.test/log",
            cwd=work,
        )
    )
    loaded = json.loads(
        _ok(_run(cli, "policy", "load-kp", "--db", "sqlite:///kp.db", "--admin-key", "admin.pem", cwd=work))
    )
    assert loaded["accepted"] == len(kp_policy_bodies())
    assert set(loaded) == {"data", "accepted"}
    assert Path(loaded["data"]).resolve().is_relative_to(venv.resolve())
    again = json.loads(
        _ok(_run(cli, "policy", "load-kp", "--db", "sqlite:///kp.db", "--admin-key", "admin.pem", cwd=work))
    )
    assert again["duplicate"] == loaded["accepted"]

    demo = [cli, "demo", "--scripted", "--db", "sqlite:///demo.db"]
    if "--no-serve" in _ok(_run(cli, "demo", "--help", cwd=work)):
        demo.append("--no-serve")
    shown = _ok(_run(*demo, cwd=work))
    assert "jwaneng" in shown.lower()
    vkey = work / "demo.vkey"
    vkey.write_text(_ok(_run(cli, "log", "key", "--db", "sqlite:///demo.db", cwd=work)), encoding="utf-8")
    _ok(_run(cli, "audit", "--db", "sqlite:///demo.db", "--vkey", vkey, cwd=work))
