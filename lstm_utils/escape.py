"""Text from the data (series, column and file names), made inert where lstm_utils writes it.

Two kinds of output show such names to people: the HTML reports, through Markdown
(:func:`markdown_text`, :func:`markdown_code`; pandas tables and printed text are escaped by
pandas and nbconvert already), and CSV files a spreadsheet may open, where a cell such as
``=HYPERLINK(...)`` would run as a formula (:func:`inert_csv`, undone by :func:`from_inert_csv`
for the prepared files lstm_utils reads back). An ordinary name (letters, digits, ``-`` and
``_`` inside it) comes out exactly as it went in, so the pipeline's outputs keep their bytes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as the start of a formula


def markdown_text(text: object) -> str:
    """`text` for a Markdown report, shown as it is: never HTML (``<``, ``>``, ``&`` become
    entities) nor a link (``[`` and ``]`` are backslash-escaped).

    >>> markdown_text("<b>[site]</b>")
    '&lt;b&gt;\\\\[site\\\\]&lt;/b&gt;'
    """
    return html.escape(str(text), quote=False).replace("[", "\\[").replace("]", "\\]")


def markdown_code(text: object) -> str:
    """`text` as a Markdown code span (`` `site` ``), or as :func:`markdown_text` when it holds
    what a code span cannot show safely or as it is (a backtick, ``<``, ``>``, ``&``)."""
    text = str(text)
    return markdown_text(text) if any(c in text for c in "`<>&") else f"`{text}`"


def _inert(value: Any) -> Any:
    """A text starting as a formula (or with ``'``) behind one ``'``; anything else as it is."""
    return "'" + value if isinstance(value, str) and value.startswith((*FORMULA_START, "'")) else value


def _restored(value: Any) -> Any:
    """A text without the one leading ``'`` that :func:`_inert` put before it."""
    return value[1:] if isinstance(value, str) and value.startswith("'") else value


def inert_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` to write as CSV, each text cell and header a spreadsheet would run as a formula
    (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) behind a ``'``, as is
    any text already starting with ``'``; numbers (negative ones too) and times stay as they are.

    >>> inert_csv(pd.DataFrame({"series": ["=1+2", "a"], "-x": [-1.5, 2.0]})).to_csv(index=False)
    "series,'-x\\n'=1+2,-1.5\\na,2.0\\n"
    """
    return _each_text(frame, _inert)


def from_inert_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from a CSV written with :func:`inert_csv`, each text cell and header as it
    was: one leading ``'`` removed from every text that has one."""
    return _each_text(frame, _restored)


def _each_text(frame: pd.DataFrame, change: Callable[[Any], Any]) -> pd.DataFrame:
    """`frame` with `change` applied to its column and index names and its text values."""
    out = frame.rename(columns=change).rename_axis(index=change)
    if _is_text(out.index.dtype):
        out.index = out.index.map(change)
    for k in range(out.shape[1]):
        column = out.iloc[:, k]
        if _is_text(column.dtype):  # each distinct text changed once (a series' name is in every row of it)
            changed = {v: c for v in column.dropna().unique() if (c := change(v)) != v}
            if changed:
                out.isetitem(k, column.map(lambda v: changed.get(v, v), na_action="ignore").astype(column.dtype))
    return out


def _is_text(dtype: Any) -> bool:
    """Whether a column or index of this dtype may hold text (object or string dtype)."""
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
