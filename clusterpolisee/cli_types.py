"""Option types shared by the commands."""

import math

import click


class Seconds(click.ParamType):
    """A time limit in seconds: a finite number from 0.1 s to a day. Larger, infinite or NaN
    values reached the timers and ended in tracebacks ("timeout is too large")."""

    name = "seconds"
    LOWEST, HIGHEST = 0.1, 86_400.0

    def convert(self, value, param, ctx) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not self.LOWEST <= seconds <= self.HIGHEST:
            self.fail(
                f"{value} is not a time limit from {self.LOWEST:g} to {self.HIGHEST:,.0f} s",
                param,
                ctx,
            )
        return seconds


SECONDS = Seconds()
