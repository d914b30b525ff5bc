"""The ``clusterpolisee`` command's entry point: pick the allocator, then run the CLI."""

from .allocator import restart_with_preferred_malloc


def main() -> None:
    restart_with_preferred_malloc()  # before the CLI's imports: it may exec this anew
    from .cli import main as cli_main

    cli_main()
