"""What `pip install .` installs: every package folder of the source tree, so that no import works only from a clone."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_installed():
    """A subpackage missing from pyproject's list imports from the repository (an editable install) and fails
    with ModuleNotFoundError from a wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    installed = set(setuptools["packages"])
    folders = {name: ROOT / path for name, path in setuptools["package-dir"].items()}
    found = set()
    for top, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((top, *relative)))
    assert found, "no package folder found"
    assert found - installed == set(), "package folders pyproject.toml does not install"
    assert installed - found == set(), "packages pyproject.toml names that have no folder"


def test_python_dash_m_ganinv_is_the_command():
    """`python -m ganinv` was "No module named ganinv.__main__" (an outside audit, 49a)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ganinv", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Usage: ganinv" in done.stdout, done.stderr
