"""The exit codes that each command's --help states, in one wording."""

import inspect
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

#: What every command also exits 2 for: click's usage errors, and a CLUSTERPOLISEE_HOME or
#: CLUSTERPOLISEE_BASE that cannot be used (cli.py).
USAGE = "a usage error or an unusable CLUSTERPOLISEE_HOME or CLUSTERPOLISEE_BASE"

#: What every command exits 130 for (128 + SIGINT, as the shell gives): cli._Main.
INTERRUPTED_CODE = 130
INTERRUPTED = f"{INTERRUPTED_CODE} when interrupted (Ctrl+C)"

#: A group's (the top-level one's too): that of the command it runs.
GROUP_EXITS = (
    "Exit with the code of the command run (see its --help); 2 without a command, or for "
    f"{USAGE}; {INTERRUPTED}."
)


def exit_codes_text(codes: dict[int, str], interruptible: bool = True) -> str:
    """'Exit 0 ...; 1 ...; 2 ...; also 2 for a usage error ...; 130 when interrupted ...' for
    ``codes`` (code: when); without the last for a command that stops on Ctrl+C itself."""
    listed = "; ".join(f"{code} {when}" for code, when in sorted(codes.items()))
    ending = f"; {INTERRUPTED}" if interruptible else ""
    return f"Exit {listed}; {'also ' if 2 in codes else ''}2 for {USAGE}{ending}."


def _ending(text: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        # cleaned first: click dedents the docstring as a whole, and the appended paragraph
        # has no indentation
        f.__doc__ = f"{inspect.cleandoc(f.__doc__ or '')}\n\n{text}"
        return f

    return decorate


def exit_codes(codes: dict[int, str], interruptible: bool = True) -> Callable[[F], F]:
    """Decorator, below ``@command``: end the command's help with its exit ``codes``
    (``interruptible=False``: Ctrl+C is the command's own way to end, as for ``serve``)."""
    return _ending(exit_codes_text(codes, interruptible))


def group_exit_codes(f: F) -> F:
    """Decorator, below ``@group``: end the group's help with GROUP_EXITS."""
    return _ending(GROUP_EXITS)(f)
