"""The fake model of the benchmark, in a process of its own (the clients' threads must not
slow it down): tests/fakes/openai_server.py writing every answer at a fixed token rate.

    python -m benchmarks.serve.model PORT TOKEN_SECONDS
"""

from __future__ import annotations

import sys
import threading

from tests.fakes.openai_server import FakeOpenAIServer

#: the answer to every free-text request: 12 words, so a reply streams in 12 pieces
ANSWER = "Thanks, that is helpful to know and I have noted it for the hiring team."


def answer(body: dict) -> str | None:
    return None if body.get("response_format") else ANSWER


def main() -> None:
    port, token_seconds = int(sys.argv[1]), float(sys.argv[2])
    server = FakeOpenAIServer(
        responder=answer, token_delay=token_seconds, first_token_delay=token_seconds
    )
    server.start(port=port)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
