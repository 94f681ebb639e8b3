"""``sregistry completion SHELL``: print the shell completion script."""

from __future__ import annotations

import click

from sregistry.cli.context import AppContext, pass_app

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_SREGISTRY_COMPLETE"

INSTALL = {
    "bash": 'eval "$(sregistry completion bash)"   # add to ~/.bashrc',
    "zsh": 'eval "$(sregistry completion zsh)"    # add to ~/.zshrc',
    "fish": "sregistry completion fish > ~/.config/fish/completions/sregistry.fish",
}


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@pass_app
def completion(app: AppContext, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(sregistry completion bash)"      (in ~/.bashrc)
    zsh:   eval "$(sregistry completion zsh)"       (in ~/.zshrc)
    fish:  sregistry completion fish > ~/.config/fish/completions/sregistry.fish
    """
    from click.shell_completion import get_completion_class

    from sregistry.cli.app import cli

    cls = get_completion_class(shell)
    if cls is None:  # click knows all three; guard against a future removal
        raise click.UsageError(f"click has no completion support for {shell}")
    app.out.result(cls(cli, {}, "sregistry", COMPLETE_VAR).source())
    app.out.info(f"# install: {INSTALL[shell]}")
