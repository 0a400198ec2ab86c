"""SOQL tokens, and Salesforce's way of pointing at the token a query error is about.

A compile error's message starts with the offending line of the query (a window of it), a caret under
the token, and ``ERROR at Row:R:Column:C``, then the text; for example (a captured Bulk API answer,
amp-labs/connectors ``providers/salesforce/test/unknown-object.json``)::

    \\nName,BillingCity,IsDeleted FROM Accout\\n                                ^\\nERROR at Row:1:Column:43
    \\nsObject type ...

The window holds the whole tokens that start less than 32 characters before or after the offending one,
on its line: that reproduces every captured message we have (the one above, whose query starts
``SELECT Id,Name,...``, and the INVALID_FIELD whose window is
``CreatedById,OCE__ActualCap__c,TPI_Product__c,Name,OCE__JobId__c``, quoted in an Airbyte issue,
where the query went on after ``OCE__JobId__c``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._errors import QueryError

__all__ = ["WINDOW", "Tok", "bulk_error", "compile_error", "tokenize"]

#: Characters of context Salesforce shows each side of the offending token.
WINDOW = 32

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}(?:[Tt][0-9:.]+(?:[Zz]|[+-]\d{2}:?\d{2})?)?)"
    r"|(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,|:)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


@dataclass(frozen=True, slots=True)
class Tok:
    """One token: its kind (``str``, ``dt``, ``num``, ``op``, ``word``), its text and where it starts."""

    kind: str
    text: str
    pos: int

    @property
    def low(self) -> str:
        """The text in lower case (keywords are case-insensitive)."""
        return self.text.lower()

    def is_word(self, *words: str) -> bool:
        """Whether this is one of the keywords ``words`` (given in lower case)."""
        return self.kind == "word" and self.text.lower() in words


def tokenize(soql: str) -> list[Tok]:
    """The tokens of ``soql``; an unknown character is ``MALFORMED_QUERY`` at its position."""
    out: list[Tok] = []
    pos = 0
    while pos < len(soql):
        if soql[pos:].strip() == "":
            break
        m = _TOKEN.match(soql, pos)
        if m is None or m.lastgroup is None:
            start = len(soql) - len(soql[pos:].lstrip())
            # "line 1:15 unexpected token: '$'" (Summer '24 release notes, SOQL changed error
            # messages, https://help.salesforce.com/s/articleView?id=release-notes.salesforce_release_notes.htm&release=250)
            row, col = _row_col(soql, start)
            raise QueryError("MALFORMED_QUERY", f"line {row}:{col - 1} unexpected token: '{soql[start]}'")
        out.append(Tok(m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup)))
        pos = m.end()
    return out


def _row_col(soql: str, pos: int) -> tuple[int, int]:
    line_start = soql.rfind("\n", 0, pos) + 1
    return soql.count("\n", 0, pos) + 1, pos - line_start + 1


def compile_error(soql: str, toks: list[Tok], pos: int, code: str, message: str) -> QueryError:
    """A REST-style compile error pointing at the token that starts at ``pos`` (or the end)."""
    row, col = _row_col(soql, pos)
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line_end = len(soql) if line_end < 0 else line_end
    on_line = [t for t in toks if line_start <= t.pos < line_end]
    near = [t for t in on_line if pos - WINDOW <= t.pos < pos + WINDOW] or on_line
    if near:
        start = min(near[0].pos, pos)
        end = max(near[-1].pos + len(near[-1].text), pos)
    else:
        start = end = pos
    window = soql[start:end]
    return QueryError(code, f"\n{window}\n{' ' * (pos - start)}^\nERROR at Row:{row}:Column:{col}\n{message}")


def bulk_error(message: str) -> QueryError:
    """A refusal of the Bulk API's query engine: ``API_ERROR`` and a plain message (no caret)."""
    return QueryError("API_ERROR", message)
