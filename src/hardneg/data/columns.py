"""The columns a ``table`` dataset names (:mod:`hardneg.data.tables` reads them).

Imported while the DAG is built (a prepare job holds one), so it imports nothing heavy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..io import InputError
from ..options import ConfigError


def _escaped(name: str) -> str:
    text = json.dumps(name, ensure_ascii=False)[1:-1].replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def show_names(names: list[str], most: int = 20) -> str:
    """Column names for a one-line message: control characters escaped, long names cut."""
    shown = [_escaped(n) for n in names[:most]]
    shown = [n if len(n) <= 40 else n[:39] + "…" for n in shown]
    return ", ".join(shown) + (f", … ({len(names)} in all)" if len(names) > most else "")


@dataclass(frozen=True, kw_only=True)
class TableColumns:
    """The columns a table dataset names (``None``: the first and second column)."""

    query: str | None = None
    positive: str | None = None
    title: str | None = None
    negatives: tuple = ()

    def resolve(self, names: list[str], file: str) -> TableColumns:
        """The columns of a file whose columns are ``names``; a named column it lacks fails."""
        query = self.query or (names[0] if names else None)
        positive = self.positive or (names[1] if len(names) > 1 else None)
        if query is None or positive is None:
            raise InputError(
                f"{file}: {len(names)} column(s) ({show_names(names) or 'none'}); a table needs a query and a "
                "positive column (query_column, positive_column)"
            )
        out = TableColumns(query=query, positive=positive, title=self.title, negatives=tuple(self.negatives))
        for key, name in out.named():
            if name not in names:
                raise InputError(f"{file}: no column {name!r} ({key}); the file's columns: {show_names(names)}")
        return out

    def named(self) -> list[tuple[str, str]]:
        """(config key, column) of every column read, query first."""
        keys = [("query_column", self.query), ("positive_column", self.positive)]
        if self.title:
            keys.append(("title_column", self.title))
        return keys + [("negative_columns", n) for n in self.negatives]

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(name for _, name in self.named()))


def is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


TABLE_KEYS = ("query_column", "positive_column", "title_column", "negative_columns")


def check_table_keys(ds, where: str, whole_repo: bool) -> None:
    """The column keys belong to the ``table`` format, and name distinct columns;
    ``whole_repo``: the source names a hub repo, not one file of it."""
    given = [k for k in TABLE_KEYS if getattr(ds, k)]
    if ds.format != "table" and given:
        raise ConfigError(f"{where}.{given[0]}: only the table format reads columns (format is {ds.format})")
    if ds.format != "table" and is_glob(ds.source) and "://" not in ds.source:
        raise ConfigError(f"{where}.source: a glob is read by the table format only (format is {ds.format})")
    if whole_repo and not ds.split:
        raise ConfigError(f"{where}.split: {ds.source} names a whole repo; give the split to mine (e.g. train)")
    for key in ("split", "subset"):
        if getattr(ds, key) and not (whole_repo and ds.format == "table"):
            raise ConfigError(
                f"{where}.{key}: read from a hub repo by the table format only "
                "(source: hf://datasets/OWNER/NAME@REVISION, format: table)"
            )
    named = [c for c in (ds.query_column, ds.positive_column, ds.title_column, *ds.negative_columns) if c]
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise ConfigError(f"{where}: column {twice[0]!r} is named for two roles (query, positive, title, negatives)")


def table_columns(ds) -> TableColumns:
    """The columns of a table dataset (a :class:`hardneg.options.DatasetOptions`)."""
    return TableColumns(
        query=ds.query_column,
        positive=ds.positive_column,
        title=ds.title_column,
        negatives=tuple(ds.negative_columns),
    )
