"""The options backends declare, as click options, and opening the client they pick.

No backend is named here: each backend's entry point describes its options
(:class:`sregistry.main.backend.Option`), and a command says which client
method it calls (``push``, ``pull``, ``search``...) to get the options that
apply to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import click

from sregistry.cli.context import AppContext
from sregistry.cli.legacy import OneArgumentCommand
from sregistry.config import choose_backend
from sregistry.main import client_class, load_backends, make_client
from sregistry.main.backend import Backend, Capability, Option
from sregistry.main.base import Client

__all__ = [
    "BackendCommand",
    "BackendOptions",
    "OneArgumentBackendCommand",
    "backend_options_for",
    "backend_supports",
    "open_client",
    "pick_backend",
    "warn_insecure",
]


def _parameter(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class BackendOptions:
    """What a command's backend flags said: flag -> value, and who declared each."""

    backends: dict[str, Backend]
    values: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    """The client method or account command the flags were offered for."""

    def given(self) -> dict[str, Any]:
        """The flags given on the command line (``None`` and ``False`` are not)."""
        return {
            flag: value
            for flag, value in self.values.items()
            if value is not None and value is not False
        }

    def owners(self, flag: str) -> list[str]:
        """The backends that declare ``flag``."""
        return [
            name
            for name, backend in self.backends.items()
            if any(option.flag == flag for option in backend.options)
        ]

    def selected(self) -> dict[str, list[str]]:
        """Backend -> its given flags that pick it when no reference has a scheme."""
        found: dict[str, list[str]] = {}
        given = self.given()
        for name, backend in self.backends.items():
            flags = [option.flag for option in backend.options if option.selects]
            if any(flag in given for flag in flags):
                found[name] = flags
        return found

    def options_of(self, name: str) -> dict[str, Any]:
        """The given flags backend ``name`` declares, by option name."""
        given = self.given()
        return {
            option.name: given[option.flag]
            for option in self.backends[name].options
            if option.flag in given and self.offered(option)
        }

    def offered(self, option: Option) -> bool:
        """Whether ``option`` is one of the flags this command offers."""
        return self.operation is None or self.operation in option.operations


def _click_option(option: Option) -> click.Option:
    if option.is_flag:
        return click.Option([option.flag, _parameter(option.flag)], is_flag=True, help=option.help)
    kind: Any = click.IntRange(*option.integer) if option.integer else None
    return click.Option(
        [option.flag, _parameter(option.flag)], type=kind, metavar=option.metavar, help=option.help
    )


class BackendCommand(click.Command):
    """A command that also takes every backend's flags for the client method
    ``operation``, and passes them to its callback as one ``backend_options``.

    The backends are looked up when the command parses or shows its help
    (once per run, kept in ``ctx.meta``), never when the module is imported.
    """

    def __init__(self, *args: Any, operation: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.operation = operation

    def _backend_params(self, ctx: click.Context) -> tuple[dict[str, Backend], list[Option]]:
        key = f"{__name__}.backends"
        if key not in ctx.meta:
            backends = load_backends()
            options: dict[str, Option] = {}
            for backend in backends.values():
                for option in backend.options:
                    if self.operation in option.operations:
                        seen = options.get(option.flag)
                        options[option.flag] = seen.merged(option) if seen else option
            ctx.meta[key] = (backends, list(options.values()))
        found: tuple[dict[str, Backend], list[Option]] = ctx.meta[key]
        return found

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        _backends, options = self._backend_params(ctx)
        params: list[click.Parameter] = [*self.params, *map(_click_option, options)]
        help_option = self.get_help_option(ctx)
        return [*params, help_option] if help_option is not None else params

    def invoke(self, ctx: click.Context) -> Any:
        backends, options = self._backend_params(ctx)
        values = {option.flag: ctx.params.pop(_parameter(option.flag)) for option in options}
        ctx.params["backend_options"] = BackendOptions(backends, values, self.operation)
        return super().invoke(ctx)


class OneArgumentBackendCommand(OneArgumentCommand, BackendCommand):
    """A :class:`BackendCommand` with one positional argument (``several``
    says what to type when given more; see ``OneArgumentCommand``)."""


def pick_backend(
    reference: str | None,
    chosen: BackendOptions,
    *,
    capability: Capability | None = None,
    hook: str | None = None,
) -> str:
    """The backend a command acts on (see :func:`open_client` for the order).

    ``hook`` (``"login"``, ``"logout"``): only backends that declare that hook
    count; when the configured backend has none, the first one that has it.
    """
    known = frozenset(chosen.backends)
    if reference and "://" in reference:
        return choose_backend(reference, known)[0]
    selected = chosen.selected()
    if len(selected) > 1:
        names = list(selected)
        flags = " and ".join("/".join(selected[name]) for name in names)
        schemes = " or ".join(f"{name}://" for name in names)
        raise click.UsageError(
            f"{flags} name two servers: use a {schemes} reference to say which one"
        )
    if selected:
        return next(iter(selected))
    if capability is not None:
        able = [
            name
            for name, backend in chosen.backends.items()
            if client_class(backend).supports(capability)
        ]
        if len(able) == 1:
            return able[0]
    configured = choose_backend(None, known)[0]
    if hook is None or getattr(chosen.backends[configured], hook) is not None:
        return configured
    having = [name for name, backend in chosen.backends.items() if getattr(backend, hook)]
    if not having:
        raise click.UsageError(f"no backend offers {hook}")
    return having[0]


def backend_options_for(kind: str, chosen: BackendOptions) -> dict[str, Any]:
    """The given flags backend ``kind`` declares, by option name.

    A given ``strict`` flag that only other backends declare is a usage error;
    the others are ignored.
    """
    backend = chosen.backends[kind]
    declared = {option.flag for option in backend.options if chosen.offered(option)}
    foreign = [
        flag
        for flag in chosen.given()
        if flag not in declared
        and any(
            option.strict and option.flag == flag and chosen.offered(option)
            for name in chosen.owners(flag)
            for option in chosen.backends[name].options
        )
    ]
    if foreign:
        owners = sorted({name for flag in foreign for name in chosen.owners(flag)})
        schemes = ", ".join(f"{name}://" for name in owners)
        raise click.UsageError(f"{', '.join(foreign)}: only for {schemes} images")
    return chosen.options_of(kind)


def backend_supports(reference: str | None, chosen: BackendOptions, capability: Capability) -> bool:
    """Whether the backend :func:`open_client` would pick has ``capability`` (no client built)."""
    kind = pick_backend(reference, chosen, capability=capability)
    return client_class(chosen.backends[kind]).supports(capability)


def open_client(
    app: AppContext,
    reference: str | None,
    chosen: BackendOptions,
    *,
    capability: Capability | None = None,
    settings: dict[str, object] | None = None,
) -> Client:
    """Build the client ``reference`` calls for and say on stderr what it acts on.

    The backend is, in order: the scheme of ``reference`` (``scheme://...``),
    a given flag that names one backend's server (two such flags of two
    backends are a usage error), the only backend with ``capability`` when
    one is asked for, then the configuration
    (:func:`sregistry.config.choose_backend`). A plain word (a search query,
    say) never picks a backend.

    The given flags the picked backend declares become its options; a
    ``strict`` flag of another backend is a usage error, the others are
    ignored. ``settings`` (e.g. ``cache=False``) go to every backend.
    ``app.sleep``, when set, is the client's ``sleep`` option.
    """
    kind = pick_backend(reference, chosen, capability=capability)
    backend = chosen.backends[kind]
    options: dict[str, Any] = dict(settings or {})
    options.update(backend_options_for(kind, chosen))
    if reference and "://" in reference:
        options["uri"] = reference
    if app.deadline is not None:
        from sregistry.transfer.http import DEADLINE_ENV

        options["env"] = {**options.get("env", os.environ), DEADLINE_ENV: repr(app.deadline)}
    if app.sleep is not None:
        options["sleep"] = app.sleep
    client = make_client(backend, **options)
    if client.insecure:
        warn_insecure(app)
    app.out.info(f"{kind}: {client.location}")
    return client


def warn_insecure(app: AppContext) -> None:
    """Say on stderr that TLS certificates go unchecked."""
    app.out.warn("TLS certificate verification is off (--insecure / SREGISTRY_HTTPS_NOVERIFY)")
