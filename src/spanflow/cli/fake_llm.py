"""``spanflow fake-llm``: serve the fake OpenAI/Anthropic LLM server in the foreground."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``fake-llm`` subcommand."""
    parser = subparsers.add_parser(
        "fake-llm",
        help="serve a fake OpenAI/Anthropic-compatible LLM for offline runs",
        description=(
            "Serve a deterministic OpenAI- and Anthropic-compatible LLM on loopback. Point "
            "clients at it with OPENAI_BASE_URL=http://HOST:PORT/v1 and "
            "ANTHROPIC_BASE_URL=http://HOST:PORT. Replies echo the last user message unless "
            "--replies gives canned texts."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument(
        "--replies",
        type=Path,
        metavar="FILE",
        help="JSON list of reply texts answered in order before the echo default",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from spanflow.testing.fake_llm import FakeLLMServer

    replies: list[str] = []
    if args.replies is not None:
        loaded = json.loads(args.replies.read_text(encoding="utf-8"))
        if not isinstance(loaded, list) or not all(isinstance(r, str) for r in loaded):
            print(
                f"spanflow fake-llm: {args.replies} must hold a JSON list of strings",
                file=sys.stderr,
            )
            return 2
        replies = loaded
    server = FakeLLMServer(replies, host=args.host, port=args.port).start()
    print(f"fake LLM listening on {server.url}", flush=True)
    print(f"  OPENAI_BASE_URL={server.openai_base_url}", flush=True)
    print(f"  ANTHROPIC_BASE_URL={server.anthropic_base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
