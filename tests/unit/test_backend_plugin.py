"""A backend from another package: one entry point, no edit to ``sregistry/cli/``.

The plugin below is a real installed distribution as far as Python can tell:
its ``*.dist-info`` (metadata and ``entry_points.txt``) sits in a folder put on
``PYTHONPATH`` of the ``sregistry`` processes the tests run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = '''
"""A toy backend keeping images as files in one folder (``--shelf DIR``)."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from sregistry.errors import ConfigError, DestinationExists, NotFound
from sregistry.main.backend import (
    Backend,
    BackendSettings,
    LoginResult,
    LogoutResult,
    MissingSetting,
    Option,
    Setting,
    SettingsReport,
)
from sregistry.main.base import Client, ImageInfo, Label, PullResult, PushResult

BACKEND = Backend(
    name="shelf",
    client="sregistry_shelf:ShelfClient",
    options=(
        Option(
            "folder",
            "--shelf",
            "Folder of a shelf:// backend.",
            metavar="DIR",
            operations=frozenset({"push", "pull", "search", "delete", "login", "logout", "config"}),
            selects=True,
        ),
    ),
    login="sregistry_shelf:login",
    logout="sregistry_shelf:logout",
    report="sregistry_shelf:report",
)


def _folder(options):
    if not options.get("folder"):
        raise MissingSetting("no shelf folder", setting="folder")
    return Path(options["folder"])


def login(request):
    folder = _folder(request.options)
    if request.token is None:
        raise MissingSetting("no shelf token", setting="token")
    path = folder / ".token"
    path.touch(mode=0o600)
    path.write_text(request.token.reveal())
    what = f"the shelf token for {folder}"
    return LoginResult(what=what, place=str(path), notes=("shelf tokens are not checked",))


def logout(options):
    path = _folder(options) / ".token"
    removed = (str(path),) if path.exists() else ()
    path.unlink(missing_ok=True)
    return LogoutResult(what=f"the shelf token for {options['folder']}", removed=removed)


def report(options):
    folder = options.get("folder")
    token = Path(folder, ".token") if folder else None
    return SettingsReport(
        (
            Setting("folder", folder, "--shelf" if folder else None),
            Setting("token", "stored" if token and token.exists() else None),
        ),
        notes=("(a toy backend)",),
    )


@dataclass(frozen=True, kw_only=True)
class ShelfSettings(BackendSettings):
    folder: str | None = None
    cache: bool = True


def _key(name: str, tag: str | None = None) -> str:
    text = name.removeprefix("shelf://")
    base, _, given = text.partition(":")
    return f"{base.replace('/', '+')}:{tag or given or 'latest'}"


class ShelfClient(Client):
    kind = "shelf"
    settings_type = ShelfSettings

    def __init__(self, *, uri=None, folder=None, env=None, cache=True):
        if folder is None:
            raise ConfigError("no shelf folder")
        self.folder = Path(folder)

    @property
    def location(self):
        return f"shelf at {self.folder}"

    def push(self, path, name, tag=None, metadata=None, *, inspect=True, progress=None):
        key = _key(name, tag)
        data = Path(path).read_bytes()
        (self.folder / key).write_bytes(data)
        return PushResult(key, len(data), hashlib.sha256(data).hexdigest())

    def pull(self, name, dest=None, force=False, *, progress=None):
        key = _key(name)
        source = self.folder / key
        if not source.exists():
            raise NotFound(f"{key} is not on the shelf")
        target = Path(dest)
        if target.exists() and not force:
            raise DestinationExists(f"{target} already exists")
        shutil.copyfile(source, target)
        data = target.read_bytes()
        return PullResult(target, key, len(data), hashlib.sha256(data).hexdigest())

    def search(self, query=None):
        return [self.get(path.name) for path in sorted(self.folder.iterdir())]

    def get(self, name):
        key = _key(name)
        collection, _, rest = key.partition("+")
        image, _, tag = rest.partition(":")
        return ImageInfo(collection, image, tag, size=(self.folder / key).stat().st_size)

    def delete(self, name):
        (self.folder / _key(name)).unlink()

    def labels(self, key=None, value=None):
        return [Label("shelf", "yes")]
'''


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A folder holding ``sregistry_shelf`` and its installed metadata."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sregistry_shelf.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "sregistry_shelf-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sregistry-shelf\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[sregistry.backends]\nshelf = sregistry_shelf:BACKEND\n", encoding="utf-8"
    )
    return site


def sregistry(
    plugin_path: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "sregistry", *args],
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=60,
        check=False,
    )


def test_push_pull_list_through_a_plugin_backend(
    plugin_path: Path, tmp_path: Path, fixtures_dir: Path
) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    image = fixtures_dir / "busybox-like.sif"

    pushed = sregistry(
        plugin_path, "push", str(image), "--name", "shelf://lab/tool:1.0", "--shelf", str(shelf)
    )
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == "lab+tool:1.0"
    assert f"shelf: shelf at {shelf}" in pushed.stderr
    assert (shelf / "lab+tool:1.0").read_bytes() == image.read_bytes()

    # --shelf alone picks the backend, as --registry or --library do
    listed = sregistry(plugin_path, "list", "--shelf", str(shelf))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split("\t")[0] == "lab/tool:1.0"

    target = tmp_path / "copy.sif"
    pulled = sregistry(
        plugin_path, "pull", "shelf://lab/tool:1.0", "-o", str(target), "--shelf", str(shelf)
    )
    assert pulled.returncode == 0, pulled.stderr
    assert target.read_bytes() == image.read_bytes()
    again = sregistry(
        plugin_path, "pull", "shelf://lab/tool:1.0", "-o", str(target), "--shelf", str(shelf)
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr

    missing = sregistry(plugin_path, "pull", "shelf://lab/absent:1.0", "--shelf", str(shelf))
    assert missing.returncode == 3


def test_the_plugin_flags_are_in_the_commands_help(plugin_path: Path) -> None:
    shown = sregistry(plugin_path, "push", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "--shelf DIR" in shown.stdout
    assert "--registry URL" in shown.stdout  # the built-in ones stay
    labels = sregistry(plugin_path, "labels", "--help")
    assert "--shelf" not in labels.stdout  # the plugin offers it for push, pull, list, delete


def test_a_plugin_flag_given_with_another_backend_is_ignored(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_STORAGE", str(tmp_path / "store"))
    done = sregistry(plugin_path, "pull", "local://lab/absent:1.0", "--shelf", str(tmp_path))
    assert done.returncode == 3, done.stderr  # the local store answered, not a usage error
    assert "local: " in done.stderr


def test_two_backends_flags_without_a_scheme_are_a_usage_error(
    plugin_path: Path, tmp_path: Path
) -> None:
    done = sregistry(plugin_path, "list", "--shelf", str(tmp_path), "--registry", "http://x")
    assert done.returncode == 2
    assert "--registry and --shelf name two servers" in done.stderr
    assert "registry:// or shelf://" in done.stderr


def test_without_the_plugin_its_scheme_is_unknown(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = sregistry(empty, "list", "shelf://lab/")
    assert done.returncode == 1
    assert "unknown backend 'shelf'" in done.stderr


def test_config_and_login_through_a_plugin_backend(plugin_path: Path, tmp_path: Path) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    token = "s" * 36 + "shlf"

    shown = sregistry(plugin_path, "config", "--shelf", str(shelf))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = lines.index("shelf")
    assert lines[start + 1].split() == ["folder", str(shelf), "--shelf"]
    assert lines[start + 2 : start + 4] == ["  token     (not set)", "  (a toy backend)"]
    assert "backend       shelf (--shelf given)" in lines
    assert lines[:2] == ["registry", "  base      (not set)"]  # the built-in ones stay

    missing = sregistry(plugin_path, "login", "shelf://lab", "--token-stdin", input=token)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no shelf folder; pass --shelf DIR"

    done = sregistry(plugin_path, "login", "--shelf", str(shelf), "--token-stdin", input=token)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Stored the shelf token for {shelf} in {shelf}/.token (mode 0600).\n"
    assert "shelf tokens are not checked" in done.stderr
    assert token not in done.stdout + done.stderr
    assert (shelf / ".token").read_text() == token
    assert (shelf / ".token").stat().st_mode & 0o777 == 0o600

    data = json.loads(sregistry(plugin_path, "config", "--json", "--shelf", str(shelf)).stdout)
    assert data["shelf"] == {
        "folder": {"value": str(shelf), "source": "--shelf"},
        "token": "stored",
    }

    gone = sregistry(plugin_path, "logout", "shelf://lab", "--shelf", str(shelf))
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout == f"Removed the shelf token for {shelf} from {shelf}/.token.\n"
    assert not (shelf / ".token").exists()
