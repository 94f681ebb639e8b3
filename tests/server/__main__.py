"""``python -m tests.server``: run the reference registry server.

Prints its base URL (e.g. ``http://127.0.0.1:43117``) as the first stdout line,
then serves until SIGTERM or SIGINT and exits 0. Access and error logs go to
stderr. Example::

    python -m tests.server --port 0 --data /tmp/reg --user alice:$(openssl rand -hex 20)
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tests.server.config import (
    PROFILES,
    REAL_PROFILE,
    MiB,
    Quirks,
    ServerConfig,
    parse_throttle,
)

__all__ = ["main", "parse_args"]


def _user(spec: str) -> tuple[str, str, bool]:
    parts = spec.split(":")
    if len(parts) not in {2, 3} or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError(f"expected NAME:TOKEN[:staff], got {spec!r}")
    if len(parts) == 3 and parts[2] != "staff":
        raise argparse.ArgumentTypeError(f"the third field can only be 'staff', got {spec!r}")
    return parts[0], parts[1], len(parts) == 3


def _throttle(spec: str) -> tuple[int, float]:
    try:
        return parse_throttle(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _quirk(name: str) -> str:
    if name not in Quirks.names():
        raise argparse.ArgumentTypeError(
            f"unknown quirk {name!r}: one of {', '.join(Quirks.names())}"
        )
    return name


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.server", description=__doc__)
    add = parser.add_argument
    add(
        "--profile",
        choices=sorted(PROFILES),
        default=REAL_PROFILE,
        help=f"behave like the real server ({REAL_PROFILE}, default) or as intended (fixed)",
    )
    add(
        "--quirk",
        type=_quirk,
        action="append",
        default=[],
        metavar="NAME",
        help="switch one of the real server's behaviours on (repeatable)",
    )
    add(
        "--no-quirk",
        type=_quirk,
        action="append",
        default=[],
        metavar="NAME",
        help="switch one of the real server's behaviours off (repeatable)",
    )
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port (default 0: a free one)")
    add("--data", type=Path, required=True, help="data directory (database and images)")
    add(
        "--user",
        type=_user,
        action="append",
        default=[],
        metavar="NAME:TOKEN[:staff]",
        help="create or update a user; repeatable",
    )
    add(
        "--user-collections",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let any user create collections (default) or only staff",
    )
    add("--private-default", action="store_true", help="new collections are private")
    add("--page-size", type=int, default=10, help="page size of the /api list views")
    add(
        "--redirect-status",
        type=int,
        choices=(302, 303),
        default=None,
        help="status of the /v1/imagefile redirect (the profile's: 302 real, 303 fixed)",
    )
    add("--no-range", action="store_true", help="the download target ignores Range")
    add(
        "--api-version",
        default=None,
        help="apiVersion of /version (the profile's; 'none': /version answers 404)",
    )
    add(
        "--multipart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="offer library multipart uploads",
    )
    add("--part-size", type=int, default=64 * MiB, help="multipart part size in bytes")
    add(
        "--throttle",
        type=_throttle,
        default=None,
        metavar="N/PERIOD",
        help="anonymous rate limit, e.g. 100/day (off by default)",
    )
    add(
        "--registry-range",
        action="store_true",
        help="the registry download route honours Range (the real one does not)",
    )
    add(
        "--get-limit",
        type=int,
        default=100,
        help="weekly GET limit per container and collection (0: none)",
    )
    args = parser.parse_args(argv)
    if args.page_size < 1 or args.part_size < 1 or args.get_limit < 0:
        parser.error("--page-size and --part-size must be positive, --get-limit >= 0")
    return args


def config_from(args: argparse.Namespace) -> ServerConfig:
    profile = PROFILES[args.profile]
    api_version: str | None = args.api_version or profile.api_version
    if api_version is not None and api_version.lower() == "none":
        api_version = None
    switches = {**dict.fromkeys(args.quirk, True), **dict.fromkeys(args.no_quirk, False)}
    return ServerConfig(
        user_collections=args.user_collections,
        private_default=args.private_default,
        page_size=args.page_size,
        redirect_status=args.redirect_status or profile.redirect_status,
        ranges=not args.no_range,
        api_version=api_version,
        multipart=args.multipart,
        part_size=args.part_size,
        throttle=args.throttle,
        registry_range=args.registry_range,
        get_limit=args.get_limit,
        quirks=profile.quirks.with_switches(switches),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A list, not a threading.Event: the handler runs in the main thread between
    # two bytecodes, and Event.set() there deadlocks when the signal lands while
    # the main thread is inside Event.wait() holding the same lock.
    stopped: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from werkzeug.serving import make_server

    from tests.server import queries as db_ops
    from tests.server.app import RegistryApp
    from tests.server.store import Store

    args.data.mkdir(parents=True, exist_ok=True)
    store = Store(args.data)
    store.initialize()
    for path in store.blobs.sweep():
        logging.getLogger("registry").info("removed %s, left by an earlier run", path.name)
    with store.write() as db:
        for name, token, staff in args.user:
            db_ops.add_user(db, name, token, staff=staff)
    server = make_server(args.host, args.port, RegistryApp(store, config_from(args)), threaded=True)
    host = f"[{server.host}]" if ":" in server.host else server.host
    print(f"http://{host}:{server.port}", flush=True)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    while not stopped:
        time.sleep(0.05)
    server.shutdown()
    thread.join()
    server.server_close()
    store.blobs.sweep()  # uploads cut short by the stop
    return 0


if __name__ == "__main__":
    sys.exit(main())
