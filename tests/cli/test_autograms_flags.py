"""The original AutoGRAMS scripts' flags work with ``autograms run|debug|visualize``: the commands
of AutoGRAMS' README, written as they are there, with only the script name changed."""

from __future__ import annotations

import json

from autograms.cli.__main__ import main
from tests.fakes.openai_server import FakeOpenAIServer

from .conftest import bot_path

ECHO = bot_path("echo_bot")


def test_run_with_example_name(autograms):
    # README: python run_autogram.py --example_name recruiter
    result = autograms("run", "--example_name", "recruiter", "--test-mode", input="/exit\n")
    assert result.returncode == 0, result.stderr
    assert "Agent: Hi, I'm Daisy" in result.stdout


def test_run_with_autogram_file_and_saveload_file(autograms, tmp_path):
    # README: python run_autogram.py --autogram_file path/to/example.py
    session = tmp_path / "memory.txt"
    for text, expected in (("ada", "Nice to meet you, Ada"), ("hi", "echo 1 for Ada: hi")):
        result = autograms(
            "run",
            "--autogram_file",
            ECHO,
            "--saveload_file",
            str(session),
            "--test-mode",
            input=f"{text}\n",
        )
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
    assert session.is_file()


def test_run_with_a_proxy_model_and_an_api_key_file(autograms, tmp_path):
    # README: python run_autogram.py --example_name recruiter --model_type proxy
    #         --proxy_port 8080 --model_name llama-3.2-1b-instruct:q4_k_m
    keys = tmp_path / "api_keys.json"
    keys.write_text(json.dumps({"openai": "sk-test"}))
    with FakeOpenAIServer("localai", models=("llama-3.2-1b",)) as server:
        result = autograms(
            "run",
            "--autogram_file",
            bot_path("model_bot"),
            "--model_type",
            "proxy",
            "--proxy_port",
            str(server.port),
            "--model_name",
            "llama-3.2-1b",
            "--embedding_model_name",
            "text-embedding-ada-002",
            "--embedding_model_type",
            "proxy",
            "--embedding_proxy_port",
            str(server.port),
            "--api_key_file",
            str(keys),
            input="hello\n/exit\n",
        )
        requests = server.chat_requests()
    assert result.returncode == 0, result.stderr
    assert "embedded local model" not in result.stderr
    assert "Agent: fake reply" in result.stdout
    assert {request["model"] for request in requests} == {"llama-3.2-1b"}


def test_an_api_key_file_loading_from_an_unset_variable_is_refused_naming_it(
    autograms, tmp_path, cli_env
):
    keys = tmp_path / "api_keys.json"
    keys.write_text(json.dumps({"load_from_env": True, "openai": "AUTOGRAMS_TEST_UNSET_KEY"}))
    env = {k: v for k, v in cli_env.items() if k != "AUTOGRAMS_TEST_UNSET_KEY"}
    result = autograms(
        "run", "--api_key_file", str(keys), "--base-url", "http://127.0.0.1:9/v1", env=env
    )
    assert result.returncode == 2, result.stderr
    assert "AUTOGRAMS_TEST_UNSET_KEY" in result.stderr and "load_from_env" in result.stderr


def test_run_with_a_config_file(autograms, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"agent_name": "Robo"}))
    result = autograms(
        "run",
        "--autogram_file",
        ECHO,
        "--config_file",
        str(config),
        "--test-mode",
        input="/exit\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Robo: Hello! What is your name?" in result.stdout


def test_run_without_a_bot_runs_the_seed_agent_as_autograms_did(autograms):
    result = autograms("run", "--test-mode", input="/exit\n")
    assert "no BOT given: running autograms_seed_agent" in result.stderr
    assert "unknown example" not in result.stderr


def test_two_different_bots_are_refused(autograms):
    result = autograms("run", "recruiter", "--example_name", "fibonacci", "--test-mode")
    assert result.returncode == 2
    assert "name one bot: got 'recruiter' and 'fibonacci'" in result.stderr


def test_debug_with_num_simulations_and_turns_per_simulation(capsys):
    # README: python debug_autogram.py --example_name <example_name>
    status = main(
        [
            "debug",
            "--example_name",
            "simple_example",
            "--num_simulations",
            "3",
            "--turns_per_simulation",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "3 run(s), 9 turn(s)" in out


def test_visualize_with_save_folder_and_graph_format(capsys, tmp_path):
    # README: python visualize_autogram.py --example_name recruiter --save_folder recruiter_graph
    folder = tmp_path / "recruiter_graph"
    status = main(
        [
            "visualize",
            "--example_name",
            "recruiter",
            "--save_folder",
            str(folder),
            "--graph_format",
            "dot",
        ]
    )
    assert status == 0, capsys.readouterr().err
    assert (folder / "recruiter.dot").read_text().startswith("digraph")
    # as visualize_autogram.py: the graph in that format and the interactive page
    assert {path.suffix for path in folder.iterdir()} == {".dot", ".html"}


def test_visualize_still_needs_a_folder(capsys):
    assert main(["visualize", "recruiter"]) == 2
    assert "--out" in capsys.readouterr().err
