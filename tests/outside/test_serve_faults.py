"""Outside tests of `autograms serve` under faults and load (README "Operations": SIGTERM
drains, "the client's retry finds its turn whole or absent"; `--workers N`; kill -9)."""

import asyncio
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_outside_support as sup  # noqa: E402


def check_whole_or_absent(server, sid, messages):
    """The client's retry of the interrupted request: one committed turn, the stored reply."""
    status, raw = sup.retry_until_done(server, sid, messages, timeout=60)
    assert status == 200, raw
    reply = json.loads(raw)["choices"][0]["message"]["content"]
    stored = server.session(sid)
    assert stored["version"] == 2
    assert [m["content"] for m in stored["history"]] == [m["content"] for m in messages] + [reply]
    assert len(reply.split()) == 10
    # and once more: nothing runs twice
    status, raw = sup.retry_until_done(server, sid, messages)
    assert json.loads(raw)["choices"][0]["message"]["content"] == reply
    assert server.session(sid)["version"] == 2


def test_sigterm_mid_stream_ends_it_without_done_and_the_retry_finds_the_turn(tmp_path):
    bot = sup.write_bot(tmp_path, "modelbot", sup.MODEL_BOT)
    with sup.FakeModel(words=10, delay=0.25) as model:
        # the drained turn's queue ticket outlives the process: a short lease lets the retry
        # on the restarted service run it after 2 s instead of 30
        args = ("--base-url", model.url, "--model", "fake", "--drain-seconds", "1")
        args += ("--lease-seconds", "2")
        with sup.Server(bot, *args, folder=tmp_path) as server:
            messages = sup.start(server, "drain-1")
            sock = sup.open_stream(server, "drain-1", messages)
            sup.read_until(sock, lambda b: b.count(b"data:") >= 2)
            server.signal(signal.SIGTERM)
            got = sup.read_until(sock, lambda b: False, timeout=30)
            sock.close()
            assert b"[DONE]" not in got
            assert b'"error"' in got.split(b"data:")[-1]
            assert server.proc.wait(60) == 0
        with sup.Server(bot, *args, folder=tmp_path) as server:
            check_whole_or_absent(server, "drain-1", messages)


def test_kill_9_mid_stream_then_restart_the_retry_finds_the_turn_whole_or_absent(tmp_path):
    bot = sup.write_bot(tmp_path, "modelbot", sup.MODEL_BOT)
    with sup.FakeModel(words=10, delay=0.15) as model:
        args = ("--base-url", model.url, "--model", "fake", "--lease-seconds", "2")
        with sup.Server(bot, *args, folder=tmp_path) as server:
            messages = sup.start(server, "kill-1")
            sock = sup.open_stream(server, "kill-1", messages)
            sup.read_until(sock, lambda b: b.count(b"data:") >= 3)
            os.killpg(server.proc.pid, signal.SIGKILL)
            got = sup.read_until(sock, lambda b: False, timeout=10)
            sock.close()
            assert b"[DONE]" not in got
            server.proc.wait(10)
        with sup.Server(bot, *args, folder=tmp_path) as server:
            assert server.session("kill-1")["version"] == 1  # the killed turn is absent
            check_whole_or_absent(server, "kill-1", messages)


def test_two_workers_serve_concurrent_streaming_sdk_clients_without_errors(tmp_path):
    from openai import AsyncOpenAI

    bot = sup.write_bot(tmp_path, "modelbot", sup.MODEL_BOT)
    with sup.FakeModel(words=4, delay=0.05) as model:
        with sup.Server(
            bot, "--base-url", model.url, "--model", "fake", "--workers", "2", folder=tmp_path
        ) as server:

            async def client(i, api):
                sid, history = f"load-{i}", []
                for turn in range(3):
                    history.append({"role": "user", "content": f"m{turn}"})
                    stream = await api.chat.completions.create(
                        model="m",
                        messages=history,
                        stream=True,
                        extra_headers={"X-Session-Id": sid},
                    )
                    text = "".join(
                        [c.choices[0].delta.content or "" async for c in stream if c.choices]
                    )
                    history.append({"role": "assistant", "content": text})
                return sid, history

            async def main():
                api = AsyncOpenAI(
                    base_url=server.base + "/v1", api_key="x", max_retries=0, timeout=60
                )
                return await asyncio.gather(*[client(i, api) for i in range(6)])

            started = time.monotonic()
            results = asyncio.run(main())
            assert time.monotonic() - started < 120
            for sid, history in results:
                stored = server.session(sid)
                assert stored["version"] == 3
                assert stored["history"] == history
