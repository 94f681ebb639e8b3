"""What ``sregistry --help`` shows: the top-level description, options and commands.

Plain data, importable without click. The click group (:mod:`sregistry.cli.app`) is built
from it, and :mod:`sregistry.cli.helptext` renders ``--help`` and ``--version`` from it
without importing click; a test checks that both print the same bytes.
"""

from __future__ import annotations

__all__ = [
    "ALIASES",
    "COMMANDS",
    "DEADLINE",
    "DEBUG",
    "DESCRIPTION",
    "EXIT_CODES",
    "HELP",
    "MAX_CONTENT_WIDTH",
    "OPTIONS",
    "PROG_NAME",
    "QUIET",
    "VERSION",
    "VERSION_MESSAGE",
    "Option",
]

PROG_NAME = "sregistry"
MAX_CONTENT_WIDTH = 100
"""The widest the help is laid out, whatever the terminal's width."""
VERSION_MESSAGE = "%(prog)s, version %(version)s"

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "ok"),
    (1, "error"),
    (2, "usage"),
    (3, "not found"),
    (4, "permission or authentication"),
    (5, "integrity"),
    (6, "not kept"),
    (130, "interrupted"),
)
"""Every :class:`~sregistry.cli.status.ExitStatus`, in a few words (docs/exit-codes.md)."""

DESCRIPTION = (
    "Move Singularity/Apptainer images between your machine and registries.\n\n"
    f"Exit codes: {', '.join(f'{code} {meaning}' for code, meaning in EXIT_CODES)}."
)
"""The group's help text, stored as ``inspect.cleandoc`` would leave it."""


class Option:
    """One top-level option: its spellings, help, and for one that takes a value its
    metavar and the numeric range click checks (and shows) it against."""

    __slots__ = ("flags", "help", "max_open", "maximum", "metavar", "min_open", "minimum")

    def __init__(
        self,
        *flags: str,
        help: str,
        metavar: str | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        min_open: bool = False,
        max_open: bool = False,
    ) -> None:
        self.flags = flags
        self.help = help
        self.metavar = metavar
        self.minimum = minimum
        self.maximum = maximum
        self.min_open = min_open
        self.max_open = max_open


VERSION = Option("-V", "--version", help="Show the version and exit.")
QUIET = Option("-q", "--quiet", help="Only print results and errors.")
DEBUG = Option("--debug", help="Log HTTP requests and show tracebacks on errors.")
DEADLINE = Option(
    "--deadline",
    help="Give up on a server that has not answered for this long, all tries included "
    "(also SREGISTRY_DEADLINE; default 300).",
    metavar="SECONDS",
    minimum=0,
    maximum=1e9,
    min_open=True,
)
HELP = Option("-h", "--help", help="Show this message and exit.")
OPTIONS = (VERSION, QUIET, DEBUG, DEADLINE, HELP)
"""In the order ``--help`` lists them (the order of the group's parameters)."""

# name -> (module:function, one-line help). The help is here so that
# `sregistry --help` lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    "push": ("sregistry.cli.push:push", "Upload a SIF image to a registry."),
    "pull": ("sregistry.cli.pull:pull", "Download an image, verified, into a file."),
    "list": ("sregistry.cli.list:list_images", "List or search images on a registry."),
    "delete": ("sregistry.cli.delete:delete", "Delete one tag of an image from a registry."),
    "labels": ("sregistry.cli.labels:labels", "List labels, filtered by key and/or value."),
    "inspect": (
        "sregistry.cli.inspect:inspect",
        "Show a SIF image's metadata (labels, scripts, ...).",
    ),
    "config": (
        "sregistry.cli.config:config",
        "Show the settings in effect and where each comes from.",
    ),
    "login": ("sregistry.cli.login:login", "Store a registry token (keyring or secrets file)."),
    "logout": ("sregistry.cli.login:logout", "Remove a stored registry token."),
    "images": ("sregistry.cli.store:images", "List images in the local store."),
    "get": ("sregistry.cli.store:get", "Print the path of an image in the local store."),
    "add": ("sregistry.cli.store:add", "Add a SIF file to the local store."),
    "rm": ("sregistry.cli.store:rm", "Remove an image from the local store."),
    "mv": ("sregistry.cli.store:mv", "Move a stored image's file out of the local store."),
    "rename": ("sregistry.cli.store:rename", "Rename an image in the local store."),
    "collections": ("sregistry.cli.collections:collections", "Manage library collections."),
    "completion": ("sregistry.cli.completion:completion", "Print a shell completion script."),
}
ALIASES = {"search": "list", "ls": "list"}
