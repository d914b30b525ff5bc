"""Names a partner gives without a language, read as English.

The shapes accept a name without a language as a resource's English name ("text tagged @en,
or text without a language"), but the stored questions show names tagged @en, so such a
resource was left out of every listing. A submission's one untagged name of a resource with
no English name is therefore stored as English. Two or more untagged names are left as they
are, and the shapes refuse them (a SPARQL rule of each node shape): each would be the English
name, but a resource has one name per language (sh:uniqueLang skips untagged names, hence the
rule). Tagging them all @en would only be refused as two English names, and which one is
English is not ours to guess.

That holds for RDF files. A CSV template's name cell is checked when it is read
(clusterpolisee/templates.py): untagged text in another script than Latin cannot be the English
name it would be stored as, so it is refused, asking for its language (:func:`foreign_script`).
"""

import unicodedata
from collections import Counter

import pyoxigraph as ox

LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
_PLAIN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")


def english_by_default(triples: list[ox.Triple]) -> list[ox.Triple]:
    """``triples`` with each resource's one untagged name tagged @en where it has no English
    name; everything else unchanged, in the same order."""
    english, untagged = set(), Counter()
    for t in triples:
        if t.predicate == LABEL and isinstance(t.object, ox.Literal):
            if t.object.language == "en":
                english.add(t.subject)
            elif _untagged(t.object):
                untagged[t.subject] += 1
    lone = {s for s, n in untagged.items() if n == 1 and s not in english}
    if not lone:
        return triples
    return [
        ox.Triple(t.subject, LABEL, ox.Literal(t.object.value, language="en"))
        if t.subject in lone and t.predicate == LABEL and _untagged(t.object)
        else t
        for t in triples
    ]


def _untagged(term: object) -> bool:
    return isinstance(term, ox.Literal) and term.language is None and term.datatype == _PLAIN


#: Languages of the partner countries written in a script other than Latin, suggested when an
#: untagged name is in that script (the first word of unicodedata's name of its letters).
SCRIPT_LANGUAGES = {"CYRILLIC": ("sr", "bg", "mk", "ru", "uk"), "GREEK": ("el",)}


def main_script(text: str) -> str | None:
    """The script ("LATIN", "CYRILLIC", "GREEK", ...) of more than half of the letters of
    ``text``, or None. Marks, digits and punctuation do not count."""
    scripts = Counter(unicodedata.name(c, "?").split(" ", 1)[0] for c in text if c.isalpha())
    if not scripts:
        return None
    script, count = scripts.most_common(1)[0]
    return script if count * 2 > sum(scripts.values()) else None


def foreign_script(text: str) -> str | None:
    """The script of most of the letters of ``text`` when that is not Latin, else None: such
    text cannot be an English name. A Latin name with a Greek letter in it ("Ωmega Labs" is
    mostly Latin) is English as before."""
    script = main_script(text)
    return None if script == "LATIN" else script


def language_hint(script: str) -> str:
    """How to give the language of text in ``script``: '"@sr", "@bg" or "@mk"'-like."""
    codes = [f'"@{c}"' for c in SCRIPT_LANGUAGES.get(script, ())] or ['"@xx" (its code)']
    return codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " or " + codes[-1]
