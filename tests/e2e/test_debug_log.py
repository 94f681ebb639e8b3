"""``--debug`` logs every request without the secrets some URLs carry."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Registry, run_sregistry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello-world.sif"


def test_debug_output_hides_tokens_signatures_and_download_secrets(
    registry: Registry, tmp_path: Path
) -> None:
    env = {
        **registry.env(),
        "SREGISTRY_LIBRARY_BASE": registry.url,
        "SREGISTRY_LIBRARY_TOKEN": registry.tokens["vsoch"],
    }
    logs = []
    for args in (
        ("push", str(EXAMPLE), "--name", "vsoch/debug:1.0"),
        ("pull", "vsoch/debug:1.0", "-o", str(tmp_path / "registry.sif")),
        ("push", str(EXAMPLE), "--name", "library://vsoch/debugged/debug:1.0"),
        ("pull", "library://vsoch/debugged/debug:1.0", "-o", str(tmp_path / "library.sif")),
    ):
        done = run_sregistry("--debug", *args, env=env)
        assert done.returncode == 0, done.stderr
        logs.append(done.stderr)
    text = "\n".join(logs)
    assert "GET http://" in text  # requests are logged...
    secret = registry.server.collection("vsoch")
    assert secret is not None
    assert secret["secret"] not in text  # ...but not the registry's download secret,
    assert "Signature=" not in text  # nor presigned-URL signatures,
    assert registry.tokens["vsoch"] not in text  # nor the token
