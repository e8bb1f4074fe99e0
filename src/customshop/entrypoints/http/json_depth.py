"""How deeply a JSON text nests, measured on its raw bytes before anything decodes it.

msgspec (like most JSON decoders) has no depth limit of its own: a body of a million ``[`` makes
it recurse a million times. :func:`nests_deeper_than` answers, without decoding, whether arrays and
objects nest more than ``limit`` levels (``[]`` is one level, ``{"a": [1]}`` two; scalars none),
ignoring brackets inside strings.

It runs on every JSON body, so it is built from a few passes of C-level byte operations, with no
Python loop over characters:

1. fewer than ``limit`` opening brackets anywhere means nothing can nest deeper (the common case:
   two ``bytes.count`` calls);
2. otherwise strings are cut out (one regular expression substitution) and every byte but the
   brackets dropped (``bytes.translate``), with ``{}`` written as ``[]``;
3. then the innermost pairs ``[]`` are removed, all at once, level by level (``bytes.replace``):
   every round removes exactly one level, so a text still holding a pair after ``limit`` rounds
   nests deeper than ``limit``.

For valid JSON the answer is exact. Malformed text (unbalanced brackets, an unterminated string)
gets an answer that errs towards "too deep", which is harmless: such a body is refused anyway.
"""

from __future__ import annotations

import re

#: The depth request bodies may reach; far beyond any real body of this API (a template definition
#: nests four levels).
MAX_JSON_DEPTH = 32

#: A complete JSON string, escapes included (the unrolled form: linear, no backtracking blow-up).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: ``{`` becomes ``[`` and ``}`` becomes ``]``; every other byte is deleted.
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


def nests_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects in the JSON text ``raw`` nest more than ``limit`` levels deep.

    Brackets inside strings (escaped quotes included) do not count. Never raises, whatever ``raw``
    holds.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b'"' in raw:
        raw = _STRING.sub(b"", raw)
    brackets = raw.translate(_AS_SQUARE, _NOT_BRACKETS)
    if brackets.count(b"[") <= limit:
        return False
    levels = 0
    while brackets:
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            # Only unmatched brackets are left (not JSON): count the unclosed ones as levels too.
            return levels + brackets.count(b"[") > limit
        brackets = inner
        levels += 1
        if levels > limit:
            return True
    return False
