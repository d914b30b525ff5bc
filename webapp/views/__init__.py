"""One module per kind of page; each exposes a blueprint ``bp``."""
