"""Several browsed databases ("sources"): table keys that name their source, and the
allow/deny patterns that may be limited to one source.

A table of the default source keeps the key it always had (``schema.table``), so links made
before sources existed still open it; a table of any other source is ``source:schema.table``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

# A source name: what may stand before the colon of a key (no dot, no colon).
SOURCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
_PREFIXED = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,31}):(.+)", re.DOTALL)


def split_key(key: str, sources: Sequence[str]) -> tuple[str | None, str]:
    """``(source, schema.table)`` of a key; source None when the key names none of ``sources``.

    Only a configured source name counts as a prefix: a schema that happens to contain a
    colon stays a schema of the default source.
    """
    match = _PREFIXED.fullmatch(key)
    if match and match.group(1) in sources:
        return match.group(1), match.group(2)
    return None, key


def qualify(source: str, key: str, default: str) -> str:
    """The key a link and the picker use for ``schema.table`` of ``source``."""
    return key if source == default else f"{source}:{key}"


def split_pattern(pattern: str) -> tuple[str | None, str]:
    """``(source or None for every source, schema.table glob)`` of an allow/deny entry."""
    match = _PREFIXED.fullmatch(pattern)
    if match and "." not in match.group(1):
        return match.group(1), match.group(2)
    return None, pattern


def patterns_for(source: str, patterns: Sequence[str]) -> tuple[str, ...]:
    """The ``schema.table`` globs of ``patterns`` that apply to ``source``."""
    out = []
    for pattern in patterns:
        name, glob = split_pattern(pattern)
        if name is None or name == source:
            out.append(glob)
    return tuple(out)


def is_visible(source: str, key: str, allow: Sequence[str], deny: Sequence[str]) -> bool:
    """Whether ``schema.table`` of ``source`` may be browsed.

    An empty allow list allows everything; otherwise only what an entry for this source
    (or for every source) matches. Deny entries are applied after it.
    """
    if allow and not any(fnmatch.fnmatchcase(key, p) for p in patterns_for(source, allow)):
        return False
    return not any(fnmatch.fnmatchcase(key, p) for p in patterns_for(source, deny))
