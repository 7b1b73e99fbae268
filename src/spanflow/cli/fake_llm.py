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
    parser.add_argument(
        "--port", type=_port, default=0, help="port to bind, 0-65535 (default 0: a free one)"
    )
    parser.add_argument(
        "--replies",
        type=Path,
        metavar="FILE",
        help="JSON list of reply texts answered in order before the echo default",
    )
    parser.set_defaults(func=_serve)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def _error(message: str) -> None:
    print(f"spanflow fake-llm: {message}", file=sys.stderr)


def _load_replies(path: Path) -> list[str] | None:
    """The reply texts in ``path``, or None after saying on stderr why they cannot be read."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _error(f"cannot read --replies {path}: {exc.strerror or exc}")
        return None
    except ValueError as exc:  # invalid JSON or not UTF-8
        _error(f"--replies {path} is not JSON: {exc}")
        return None
    if not isinstance(loaded, list) or not all(isinstance(r, str) for r in loaded):
        _error(f"{path} must hold a JSON list of strings")
        return None
    return loaded


def _serve(args: argparse.Namespace) -> int:
    from spanflow.testing.fake_llm import FakeLLMServer

    replies: list[str] = []
    if args.replies is not None:
        loaded = _load_replies(args.replies)
        if loaded is None:
            return 2
        replies = loaded
    try:
        server = FakeLLMServer(replies, host=args.host, port=args.port).start()
    except OSError as exc:  # port taken, address not on this machine, host unknown
        _error(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 1
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
