"""A multiprocessing child whose endpoint never answers leaves its spans in the spool, not lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from tests.environments import child_environment

from spanflow._internal.spool import decode_file

# The parent listens but never accepts or answers (a hung collector), starts a forked child
# that records one run and exits, and records nothing itself.
_SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import os
    import socket

    import spanflow


    def work():
        with spanflow.run("child-run"):
            pass


    if __name__ == "__main__":
        hung = socket.socket()
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        os.environ["SPANFLOW_ENDPOINT"] = f"http://127.0.0.1:{hung.getsockname()[1]}"
        spanflow.configure()
        child = multiprocessing.get_context("fork").Process(target=work)
        child.start()
        child.join(60)
        print(child.exitcode)
    """
)


def _spooled_span_names(spool_dir: Path) -> set[str]:
    """Span names in the spool's trace requests, also those a process claimed and left behind
    at its exit (the parent tries to deliver the child's files too; the next process to export
    there takes a dead claimer's files back)."""
    names: set[str] = set()
    for path in spool_dir.rglob("*.otlp*"):
        request = decode_file(path.read_bytes())
        if request.signal == "traces":
            message = ExportTraceServiceRequest.FromString(request.body)
            names |= {
                span.name
                for resource in message.resource_spans
                for scope in resource.scope_spans
                for span in scope.spans
            }
    return names


def test_forked_child_spools_what_a_hung_endpoint_did_not_take(tmp_path: Path) -> None:
    """A forked child's run, unsent when its exit flush gives up, is in the spool afterwards."""
    script = tmp_path / "hung_endpoint.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    spool_dir = tmp_path / "spool"
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=child_environment(SPANFLOW_SPOOL_DIR=str(spool_dir)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert _spooled_span_names(spool_dir) == {"child-run"}
