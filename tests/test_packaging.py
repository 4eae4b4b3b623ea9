"""The built wheel: its license metadata (PEP 639) and a build without deprecation warnings."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_carries_an_spdx_license_and_the_license_file(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    # setuptools warned three times per build about the old `license = { text = ... }` table
    assert "deprecated" not in (build.stdout + build.stderr).lower()
    (wheel,) = tmp_path.glob("autograms-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(archive.read(metadata_name).decode())
        license_names = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert license_names, names
        license_text = archive.read(license_names[0]).decode()
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "BSD 3-Clause License" in license_text
