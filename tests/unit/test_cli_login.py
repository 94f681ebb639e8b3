"""`sregistry login` / `logout`: token from stdin or a hidden prompt, never in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry import __version__
from sregistry.cli import cli
from tests.keyring_backend import stored

REPO = Path(__file__).resolve().parents[2]
TOKEN = "0123456789abcdef0123456789abcdef01234567"
BAD_TOKEN = "b" * 36 + "bad0"
ENV_TOKEN = "e" * 36 + "env0"
SECRETS = (TOKEN, BAD_TOKEN, ENV_TOKEN)
BASE = "https://sreg.example.org"


def _run(*args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr
    return result


def test_login_from_stdin(secrets: Path) -> None:
    result = _run(
        "login", "--registry", BASE, "--username", "vsoch", "--token-stdin", stdin=TOKEN + "\n"
    )
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == f"Stored the registry token of vsoch for {BASE} in ~/.sregistry (mode 0600).\n"
    )
    assert "cannot check a token" in result.stderr
    assert json.loads(secrets.read_text())["registry"]["SREGISTRY_REGISTRY_TOKEN"] == TOKEN


def test_password_stdin_alias_and_configured_defaults(secrets: Path) -> None:
    secrets.write_text(
        json.dumps({"registry": {"base": BASE, "username": "vsoch", "token": BAD_TOKEN}})
    )
    result = _run("login", "--password-stdin", stdin=TOKEN)
    assert result.exit_code == 0, result.output
    data = json.loads(secrets.read_text())
    assert data == {
        "registry": {
            "SREGISTRY_REGISTRY_BASE": BASE,
            "SREGISTRY_REGISTRY_USERNAME": "vsoch",
            "SREGISTRY_REGISTRY_TOKEN": TOKEN,
        }
    }


@pytest.mark.usefixtures("file_keyring")
def test_login_to_the_keyring(secrets: Path) -> None:
    result = _run("login", "--registry", BASE, "--username", "vsoch", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 0, result.output
    assert "in the keyring (tests.keyring_backend.FileKeyring)" in result.stdout
    assert stored() == {f"sregistry+registry:{BASE}": {"vsoch": TOKEN}}
    assert TOKEN not in secrets.read_text()
    config = _run("config")
    assert any(
        line.split() == ["token", "****4567", "keyring"] for line in config.stdout.splitlines()
    )


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--registry", BASE, "--username", "vsoch"], TOKEN, "no terminal to prompt for the token"),
        (
            ["--registry", BASE, "--username", "vsoch", "--token-stdin"],
            "\n",
            "no token on standard input",
        ),
        (["--registry", BASE, "--username", "vsoch", "--token-stdin"], "a b", "printable ASCII"),
        (
            ["--username", "vsoch", "--token-stdin"],
            TOKEN,
            "no registry to log in to; pass --registry",
        ),
        (["--registry", BASE, "--token-stdin"], TOKEN, "no registry username; pass --username"),
        (["--registry", BASE, "--username", "ÿÿÿ", "--token-stdin"], TOKEN, "base64"),
        (["--registry", "ftp://h.org", "--username", "u", "--token-stdin"], TOKEN, "scheme"),
    ],
)
def test_login_refusals(secrets: Path, args: list[str], stdin: str, message: str) -> None:
    result = _run("login", *args, stdin=stdin)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert not secrets.exists()


def test_token_is_not_an_option() -> None:
    result = _run("login", "--registry", BASE, "--username", "u", "--token", TOKEN)
    assert result.exit_code == 2
    assert "No such option '--token'" in result.stderr


def test_library_and_registry_are_exclusive() -> None:
    result = _run("login", "--library", BASE, "--registry", BASE, "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 2


def test_environment_values_are_not_written(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SREGISTRY_REGISTRY_BASE", BASE)
    monkeypatch.setenv("SREGISTRY_REGISTRY_USERNAME", "vsoch")
    monkeypatch.setenv("SREGISTRY_REGISTRY_TOKEN", ENV_TOKEN)
    result = _run("login", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 0, result.output
    assert "$SREGISTRY_REGISTRY_BASE was used but not written to disk" in result.stderr
    assert "$SREGISTRY_REGISTRY_USERNAME was used but not written to disk" in result.stderr
    assert "warning: SREGISTRY_REGISTRY_TOKEN is set" in result.stderr
    text = secrets.read_text()
    assert ENV_TOKEN not in text
    assert BASE not in text
    assert "vsoch" not in text
    assert json.loads(text) == {"registry": {"SREGISTRY_REGISTRY_TOKEN": TOKEN}}


@pytest.mark.usefixtures("file_keyring")
def test_logout(secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run("login", "--registry", BASE, "--username", "vsoch", "--token-stdin", stdin=TOKEN)
    result = _run("logout")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Removed the registry token of vsoch for {BASE} from the keyring.\n"
    assert stored() == {f"sregistry+registry:{BASE}": {}}
    again = _run("logout")
    assert again.exit_code == 0
    assert again.stdout == f"Nothing to remove: no stored registry token of vsoch for {BASE}.\n"
    monkeypatch.setenv("SREGISTRY_REGISTRY_TOKEN", ENV_TOKEN)
    assert "SREGISTRY_REGISTRY_TOKEN is still set" in _run("logout").stderr


def test_logout_of_the_file(secrets: Path) -> None:
    secrets.write_text(
        json.dumps({"registry": {"base": BASE, "username": "vsoch", "token": TOKEN}})
    )
    result = _run("logout")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Removed the registry token of vsoch for {BASE} from ~/.sregistry.\n"
    assert TOKEN not in secrets.read_text()


def test_logout_with_nothing_configured(secrets: Path) -> None:
    result = _run("logout")
    assert result.exit_code == 0
    assert result.stdout == "Nothing to remove: no stored token for the registry.\n"
    assert not secrets.exists()


# -- a real subprocess --------------------------------------------------------


def _subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.usefixtures("file_keyring")
def test_login_in_a_subprocess(secrets: Path, sregistry_exe: str) -> None:
    done = subprocess.run(
        [sregistry_exe, "login", "--registry", BASE, "--username", "vsoch", "--token-stdin"],
        input=TOKEN + "\n",
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "in the keyring (tests.keyring_backend.FileKeyring)" in done.stdout
    assert stored() == {f"sregistry+registry:{BASE}": {"vsoch": TOKEN}}
    shown = subprocess.run(
        [sregistry_exe, "config", "--json"],
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert TOKEN not in shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["registry"]["token"] == {
        "value": "****4567",
        "source": "keyring",
    }


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a pty")
def test_hidden_prompt_on_a_terminal(secrets: Path, sregistry_exe: str) -> None:
    """On a real terminal the username and token are prompted for; the token is not echoed."""
    with _login_on_a_terminal(sregistry_exe) as (process, controller):
        seen = _read_until(controller, b"Username: ")
        os.write(controller, b"vsoch\n")
        seen += _read_until(controller, b"Token: ")
        os.write(controller, TOKEN.encode() + b"\n")
        seen += _read_until(controller, b"mode 0600).")
        assert process.wait(timeout=60) == 0, seen
    assert TOKEN.encode() not in seen, "the token was echoed"
    assert b"vsoch" in seen, "the username is echoed as usual"
    assert json.loads(secrets.read_text())["registry"] == {
        "SREGISTRY_REGISTRY_BASE": BASE,
        "SREGISTRY_REGISTRY_USERNAME": "vsoch",
        "SREGISTRY_REGISTRY_TOKEN": TOKEN,
    }


@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="needs a pty")
@pytest.mark.parametrize(
    ("answers", "prompt", "key", "code", "message"),
    [
        ([], b"Username: ", "interrupt", 130, b"interrupted"),
        ([b"vsoch\n"], b"Token: ", "interrupt", 130, b"interrupted"),
        ([], b"Username: ", "eof", 1, b"no registry username"),
        ([b"vsoch\n"], b"Token: ", "eof", 1, b"no token given"),
    ],
    ids=["ctrl-c-username", "ctrl-c-token", "ctrl-d-username", "ctrl-d-token"],
)
def test_a_prompt_left_stores_nothing(  # noqa: PLR0917 - fixtures and parameters
    secrets: Path,
    sregistry_exe: str,
    answers: list[bytes],
    prompt: bytes,
    key: str,
    code: int,
    message: bytes,
) -> None:
    """Ctrl-C at a login prompt is "interrupted", exit 130 (not click's "Aborted!", exit 1);
    end of input there is a one-line error; either way nothing is stored."""
    import signal

    with _login_on_a_terminal(sregistry_exe) as (process, controller):
        seen = b""
        for answer in answers:
            seen += _read_until(controller, b": ")
            os.write(controller, answer)
        seen += _read_until(controller, prompt)
        if key == "interrupt":
            process.send_signal(signal.SIGINT)
        else:
            os.write(controller, b"\x04")  # the terminal's end of input
        returncode = process.wait(timeout=60)
        seen += _read_until(controller, b"\n" + message)
    assert returncode == code, seen
    assert b"Aborted!" not in seen
    assert message in seen
    assert not secrets.exists()


@contextmanager
def _login_on_a_terminal(sregistry_exe: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``sregistry login`` on a pty of its own: the process and the pty's controller side."""
    import pty
    import signal

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sregistry_exe, "login", "--registry", BASE],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=_subprocess_env(),
            start_new_session=True,
            # A run started in the background of a shell passes SIGINT on ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )
        os.close(terminal)
        terminal = -1
        yield process, controller
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)


def _read_until(fd: int, marker: bytes) -> bytes:
    import select

    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"timed out waiting for {marker!r}; got {seen!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        seen += chunk
    return seen


# -- library: the token is checked against a real HTTP server --------------------


class _TokenStatus(BaseHTTPRequestHandler):
    requests: list[dict[str, str]] = []  # noqa: RUF012 - reset per test by the fixture

    def do_GET(self) -> None:
        type(self).requests.append({"path": self.path, **dict(self.headers.items())})
        valid = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        if self.path == "/v1/token-status":
            self.send_response(200 if valid else 404)
        else:
            self.send_response(418)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def library_server() -> Iterator[str]:
    _TokenStatus.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenStatus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.network
def test_library_login_checks_the_token_first(secrets: Path, library_server: str) -> None:
    result = _run("login", "--library", library_server + "/", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 0, result.output
    assert f"the library at {library_server} accepted the token" in result.stderr
    assert (
        result.stdout
        == f"Stored the library token for {library_server} in ~/.sregistry (mode 0600).\n"
    )
    (request,) = _TokenStatus.requests
    assert request["path"] == "/v1/token-status"
    assert request["Authorization"] == f"Bearer {TOKEN}"
    assert request["User-Agent"].startswith(f"sregistry/{__version__} ")  # the transport's
    assert json.loads(secrets.read_text()) == {
        "library": {"SREGISTRY_LIBRARY_BASE": library_server, "SREGISTRY_LIBRARY_TOKEN": TOKEN}
    }
    logout = _run("logout", "--library", library_server)
    assert logout.stdout == f"Removed the library token for {library_server} from ~/.sregistry.\n"


@pytest.mark.network
def test_library_login_with_a_rejected_token_stores_nothing(
    secrets: Path, library_server: str
) -> None:
    result = _run("login", "--library", library_server, "--token-stdin", stdin=BAD_TOKEN)
    assert result.exit_code == 4, result.output
    assert f"error: the library at {library_server} rejected the token" in result.stderr
    assert not secrets.exists()


def test_library_token_is_checked_for_shape_before_it_is_sent(
    secrets: Path, library_server: str
) -> None:
    result = _run("login", "--library", library_server, "--token-stdin", stdin=TOKEN + "\n" + TOKEN)
    assert result.exit_code == 1
    assert "printable ASCII" in result.stderr
    assert _TokenStatus.requests == []
    assert not secrets.exists()


@pytest.mark.network
def test_library_login_to_something_else(secrets: Path, library_server: str) -> None:
    result = _run("login", "--library", library_server + "/prefix", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 1
    assert "unexpected answer 418" in result.stderr
    assert not secrets.exists()


@pytest.mark.network
def test_library_login_that_fails_to_connect_stores_nothing(
    secrets: Path, library_server: str
) -> None:
    """A transport failure (here TLS spoken to a plain-HTTP server, never retried) is an
    error; an unreachable server is retried first (tests/unit/test_credentials_token_check)."""
    tls = library_server.replace("http://", "https://")
    result = _run("login", "--library", tls, "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 1
    assert f"error: the TLS handshake with {tls}/v1/token-status failed" in result.stderr
    assert _TokenStatus.requests == []
    assert not secrets.exists()


# -- the server named as scheme://host, the backend the configuration picks ---------


def test_login_and_logout_with_a_scheme_and_host(secrets: Path) -> None:
    result = _run(
        "login", "registry://sreg.example.org", "--username", "vsoch", "--token-stdin", stdin=TOKEN
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Stored the registry token of vsoch for https://sreg.example.org in ~/.sregistry "
        "(mode 0600).\n"
    )
    gone = _run("logout", "registry://sreg.example.org", "--username", "vsoch")
    assert gone.stdout == (
        "Removed the registry token of vsoch for https://sreg.example.org from ~/.sregistry.\n"
    )


@pytest.mark.network
def test_a_library_host_is_spoken_to_over_https(secrets: Path, library_server: str) -> None:
    host = library_server.removeprefix("http://")
    result = _run("login", f"library://{host}", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 1
    assert f"error: the TLS handshake with https://{host}/v1/token-status failed" in result.stderr
    assert not secrets.exists()
    gone = _run("logout", f"library://{host}/some/path")
    assert gone.stdout == f"Nothing to remove: no stored library token for https://{host}.\n"


def test_a_server_without_a_scheme_is_a_usage_error() -> None:
    result = _run("login", "sreg.example.org", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 2
    assert "name the server as scheme://host" in result.stderr


def test_the_configured_backend_is_the_one_logged_in_to(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_CLIENT", "library")
    result = _run("login", "--token-stdin", stdin=TOKEN)
    assert result.exit_code == 1
    assert result.stderr == "error: no library to log in to; pass --library URL\n"
    username = _run("login", "--username", "vsoch", "--token-stdin", stdin=TOKEN)
    assert username.exit_code == 2  # a registry flag, while the library is picked
    assert not secrets.exists()


@pytest.mark.network
def test_insecure_is_announced_only_where_a_token_is_sent(
    secrets: Path, library_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_HTTPS_NOVERIFY", "1")
    warning = "warning: TLS certificate verification is off"
    library = _run("login", "--library", library_server, "--token-stdin", stdin=TOKEN)
    assert library.exit_code == 0, library.output
    assert warning in library.stderr
    registry = _run("login", "--registry", BASE, "--username", "u", "--token-stdin", stdin=TOKEN)
    assert registry.exit_code == 0, registry.output
    assert warning not in registry.stderr


# -- the hooks behind the commands, called from Python: they never print ----------------


@pytest.mark.network
def test_the_library_login_hook_checks_stores_and_says_so(
    secrets: Path, library_server: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from sregistry.credentials import Secret
    from sregistry.main import account_hook, load_backends
    from sregistry.main.backend import LoginRequest, LoginResult, MissingSetting

    hook = account_hook(load_backends()["library"], "login")
    assert hook is not None
    with pytest.raises(MissingSetting) as asked:
        hook(LoginRequest({"base": library_server}))
    assert asked.value.setting == "token"
    assert _TokenStatus.requests == []
    result = hook(LoginRequest({"base": library_server}, Secret(TOKEN)))
    assert result == LoginResult(
        what=f"the library token for {library_server}",
        place=str(secrets),
        checked=f"the library at {library_server} accepted the token",
    )
    assert capfd.readouterr() == ("", "")
    assert TOKEN not in repr(result)


def test_the_registry_report_hook_masks_the_token(secrets: Path) -> None:
    from sregistry.main import account_hook, load_backends
    from sregistry.main.backend import Setting

    secrets.write_text(json.dumps({"registry": {"base": BASE, "token": TOKEN}}))
    hook = account_hook(load_backends()["registry"], "report")
    assert hook is not None
    found = hook({"username": "vsoch"})
    assert found.settings == (
        Setting("base", BASE, "~/.sregistry (registry.base)"),
        Setting("username", "vsoch", "--username"),
        Setting("token", "****4567", "~/.sregistry (registry.token)"),
        Setting("nohttps", False),
    )
    assert account_hook(load_backends()["local"], "report") is None
