"""Option types shared by the commands."""

import math

import click

from . import rdfio


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


class Delimiter(click.ParamType):
    """A CSV delimiter: one character, other than a line break or the quote character. Python's
    csv module raised a TypeError (a traceback) for an empty or longer one. A typed ``\\t`` is
    taken as the tab it stands for, which a shell does not pass as one character."""

    name = "character"

    def convert(self, value, param, ctx) -> str:
        text = "\t" if value == "\\t" else str(value)
        if len(text) != 1 or text in '\r\n"':
            self.fail(
                f"{value!r} is not a delimiter: give one character other than a line break "
                "or '\"', e.g. ';' or '\\t' for a tab",
                param,
                ctx,
            )
        return text


DELIMITER = Delimiter()


class IriBase(click.ParamType):
    """An IRI prefix for ids that are not IRIs (``link --id-base``): an http(s) IRI, checked
    before the list is read. 'not a base' ended in a traceback when the first link was
    written, and 'urn:x:' was taken though links go to http(s) IRIs."""

    name = "iri"

    def convert(self, value, param, ctx) -> str:
        from .linking.records import id_base_problem

        problem = id_base_problem(str(value))
        if problem:
            self.fail(problem, param, ctx)
        return str(value)


IRI_BASE = IriBase()


#: The input formats for option help, from the one list (rdfio.INPUT_FORMATS).
INPUT_FORMATS_TEXT = ", ".join(rdfio.INPUT_FORMATS[:-1]) + " or " + rdfio.INPUT_FORMATS[-1]


def input_format(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--input-format`` as the pipelines compare it: they take "csv" for the templates, so
    "CSV" went to the RDF parser, which then listed csv among the formats it does not know.
    Other values are left as typed, for the parser's message to quote them."""
    if value and rdfio.format_key(value) in rdfio.INPUT_FORMATS:
        return rdfio.format_key(value)
    return value
