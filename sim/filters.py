"""Row filters typed by a user (the dashboard's runs table): parsed, checked, never executed.

A filter is a condition on the columns of a table, written as pandas' ``query`` would read it::

    seed > 2 and bad_debt_max > 1e6
    status == 'ok' and not (auctions_zero_bid >= 3 or liquidations == 0)
    scenario in ['crash', 'spiral'] and `ilks.ETH-A.liquidation.buf` < 1.2
    bad_debt_max > 0.1 * liquidated_debt

The text is parsed with :mod:`ast` into a tree that may hold only column names (a name in
backticks for a column that is not a Python identifier), numbers, quoted text, ``True``,
``False``, comparisons (``== != < <= > >=``, ``in``/``not in`` a list of constants), ``and``,
``or``, ``not`` (or ``& | ~``, read as those words, as pandas reads them), brackets and the arithmetic ``+ - * /`` between numbers and
columns. Anything else — ``@`` variables, function calls, attributes, subscripts, lambdas,
comprehensions, ``**`` — is refused before anything is evaluated, with a message that says what
is allowed and lists the columns. The checked tree is then evaluated by this module's own small
interpreter over the table's columns (numpy and pandas operators), never by ``eval``,
``DataFrame.query`` or ``DataFrame.eval``: no text typed in a browser can run code.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Longest filter accepted (characters): a condition on a table's columns is short; a megabyte
#: of text is not a filter, and parsing it would only cost memory.
MAX_FILTER_CHARS = 2_000
#: Deepest nesting of brackets and operators accepted (Python's parser recurses on it).
MAX_DEPTH = 40
#: Most constants in one ``in [...]`` list.
MAX_LIST = 1_000
#: What a filter may hold, for messages.
ALLOWED = (
    "column names (in `backticks` if not plain words), numbers, 'quoted text', True/False, "
    "comparisons (== != < <= > >=), in / not in [a list], and / or / not, brackets, + - * /"
)
#: Column names shown in a message, at most.
_COLUMNS_SHOWN = 40

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
#: Symbols read as the words (outside quoted text), with the words' precedence, as pandas does.
_SYMBOLS = {"&": "and", "|": "or", "~": "not"}
#: Plain words a filter may use as constants, the way pandas' query reads them.
_WORDS = {"True": True, "False": False}
#: A name for the column in the k-th pair of backticks (not a word a user would type).
_BACKTICK_NAME = "_cdpsim_column_{}"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FilterError(ValueError):
    """A filter that is refused or cannot be evaluated on the table (a one-line message)."""


def _columns_text(columns: Sequence[str]) -> str:
    shown = [f"`{c}`" if not _IDENTIFIER.match(c) else c for c in columns[:_COLUMNS_SHOWN]]
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f", … ({more} more)" if more > 0 else "")


def _refuse(text: str, why: str, columns: Sequence[str]) -> FilterError:
    """A refusal that says what went wrong, what a filter may hold, and the columns."""
    return FilterError(
        f"filter {text!r}: {why}. A filter may hold {ALLOWED}. Columns: {_columns_text(columns)}"
    )


def _replace_backticks(text: str) -> tuple[str, dict[str, str]]:
    """Swap each `quoted column` for a placeholder name; quotes inside strings are left alone.

    Raises:
        ValueError: a backtick or a string quote is not closed, or backticks hold nothing.
    """
    out: list[str] = []
    names: dict[str, str] = {}
    k, n = 0, len(text)
    while k < n:
        char = text[k]
        if char in "'\"":  # a string literal: copied as it is, up to its closing quote
            end = k + 1
            while end < n and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            if end >= n:
                raise ValueError("a quote is not closed")
            out.append(text[k : end + 1])
            k = end + 1
        elif char == "`":
            end = text.find("`", k + 1)
            if end < 0:
                raise ValueError("a backtick is not closed")
            column = text[k + 1 : end]
            if not column:
                raise ValueError("empty backticks")
            placeholder = _BACKTICK_NAME.format(len(names))
            names[placeholder] = column
            out.append(f" {placeholder} ")
            k = end + 1
        elif char in _SYMBOLS:  # pandas' query reads & | ~ as and / or / not (their precedence)
            out.append(f" {_SYMBOLS[char]} ")
            k += 1
        else:
            out.append(char)
            k += 1
    return "".join(out), names


class RowFilter:
    """A filter checked against a table's columns, ready to apply.

    Args:
        text: the filter as typed.
        columns: the columns it may name.

    Raises:
        FilterError: the text is too long, does not parse, or holds anything but what
            :data:`ALLOWED` lists, or names a column the table lacks.
    """

    def __init__(self, text: str, columns: Sequence[str]) -> None:
        self.text = text
        self.columns = [str(c) for c in columns]
        if len(text) > MAX_FILTER_CHARS:
            raise _refuse(
                text[:60] + "…", f"longer than {MAX_FILTER_CHARS} characters", self.columns
            )
        try:
            source, self._backticked = _replace_backticks(text)
            tree = ast.parse(source.strip(), mode="eval")
        except (SyntaxError, ValueError) as exc:
            why = exc.msg if isinstance(exc, SyntaxError) else str(exc)
            raise _refuse(text, f"not a condition ({why})", self.columns) from None
        except RecursionError:
            raise _refuse(text, "nested too deeply", self.columns) from None
        self._tree = tree.body
        self._check(self._tree, depth=0)

    # ------------------------------------------------------------------------------ checking

    def _column(self, node: ast.Name) -> str:
        name = self._backticked.get(node.id, node.id)
        if name not in self.columns:
            raise _refuse(self.text, f"no column {name!r}", self.columns)
        return name

    def _check(self, node: ast.AST, depth: int) -> None:
        """Refuse anything but the allowed node kinds (before anything is evaluated)."""
        if depth > MAX_DEPTH:
            raise _refuse(self.text, "nested too deeply", self.columns)
        match node:
            case ast.BoolOp(values=values):
                for value in values:
                    self._check(value, depth + 1)
            case ast.UnaryOp(op=ast.Not() | ast.USub() | ast.UAdd(), operand=x):
                self._check(x, depth + 1)
            case ast.BinOp(op=op, left=left, right=right) if type(op) in _ARITHMETIC:
                self._check(left, depth + 1)
                self._check(right, depth + 1)
            case ast.Compare(left=left, ops=ops, comparators=rights):
                self._check(left, depth + 1)
                for op, right in zip(ops, rights, strict=True):
                    if isinstance(op, ast.In | ast.NotIn):
                        self._check_list(right)
                    elif type(op) in _COMPARE:
                        self._check(right, depth + 1)
                    else:
                        raise _refuse(
                            self.text, f"{type(op).__name__} is not allowed", self.columns
                        )
            case ast.Name(id=word) if word in _WORDS:
                pass
            case ast.Name():
                self._column(node)
            case ast.Constant(value=value) if _plain_constant(value):
                pass
            case _:
                raise _refuse(self.text, _what(node), self.columns)

    def _check_list(self, node: ast.AST) -> None:
        """The right side of ``in``: a list (or tuple) of constants."""
        if not isinstance(node, ast.List | ast.Tuple):
            raise _refuse(self.text, "'in' takes a list of constants, e.g. [1, 2]", self.columns)
        if len(node.elts) > MAX_LIST:
            raise _refuse(self.text, f"a list of more than {MAX_LIST} items", self.columns)
        for item in node.elts:
            value = _list_constant(item)
            if value is _NOT_CONSTANT:
                raise _refuse(self.text, "'in' takes a list of constants only", self.columns)

    # ------------------------------------------------------------------------------ evaluating

    def mask(self, table: pd.DataFrame) -> pd.Series:
        """The rows of ``table`` the filter keeps, as a boolean Series.

        Raises:
            FilterError: the condition cannot be evaluated on these columns (e.g. text compared
                with a number), or it is not a condition (a bare number or column of numbers).
        """
        try:
            with np.errstate(all="ignore"):
                value = self._eval(self._tree, table)
        except FilterError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise FilterError(f"filter {self.text!r}: {type(exc).__name__}: {exc}") from None
        if isinstance(value, bool | np.bool_):
            return pd.Series(bool(value), index=table.index)
        if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype):
            return value.fillna(False).astype(bool)
        raise FilterError(
            f"filter {self.text!r}: not a condition on the rows (compare a column with a value, "
            "e.g. bad_debt_max > 1e6)"
        )

    def apply(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``table`` the filter keeps."""
        return table[self.mask(table)]

    def _eval(self, node: ast.AST, table: pd.DataFrame) -> Any:
        match node:
            case ast.BoolOp(op=op, values=values):
                combine = operator.and_ if isinstance(op, ast.And) else operator.or_
                result = _as_condition(self._eval(values[0], table), self.text)
                for value in values[1:]:
                    result = combine(result, _as_condition(self._eval(value, table), self.text))
                return result
            case ast.UnaryOp(op=ast.Not(), operand=x):
                return ~_as_condition(self._eval(x, table), self.text)
            case ast.UnaryOp(op=ast.USub(), operand=x):
                return -_as_number(self._eval(x, table), self.text)
            case ast.UnaryOp(op=ast.UAdd(), operand=x):
                return _as_number(self._eval(x, table), self.text)
            case ast.BinOp(op=op, left=left, right=right):
                a = _as_number(self._eval(left, table), self.text)
                b = _as_number(self._eval(right, table), self.text)
                return _ARITHMETIC[type(op)](a, b)
            case ast.Compare(left=left, ops=ops, comparators=rights):
                result = None
                a = self._eval(left, table)
                for op, right in zip(ops, rights, strict=True):
                    if isinstance(op, ast.In | ast.NotIn):
                        values = [_list_constant(item) for item in right.elts]  # type: ignore[attr-defined]
                        part = _isin(a, values, table.index)
                        if isinstance(op, ast.NotIn):
                            part = ~part
                        b = None
                    else:
                        b = self._eval(right, table)
                        part = _COMPARE[type(op)](a, b)
                    result = part if result is None else result & part
                    a = b
                return result
            case ast.Name(id=word) if word in _WORDS:
                return _WORDS[word]
            case ast.Name():
                return table[self._column(node)]
            case ast.Constant(value=value):
                return value
        raise _refuse(self.text, _what(node), self.columns)  # pragma: no cover (checked)


_NOT_CONSTANT = object()


def _plain_constant(value: Any) -> bool:
    """Numbers, text and booleans; not bytes, ``...`` or complex numbers."""
    return isinstance(value, bool | int | float | str) and not isinstance(value, complex)


def _list_constant(node: ast.AST) -> Any:
    """The value of a list item: a constant, a negated number or True/False."""
    match node:
        case ast.Constant(value=value) if _plain_constant(value):
            return value
        case ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=value)) if isinstance(
            value, int | float
        ) and not isinstance(value, bool):
            return -value
        case ast.Name(id=word) if word in _WORDS:
            return _WORDS[word]
    return _NOT_CONSTANT


def _what(node: ast.AST) -> str:
    """Why a node is refused, in the user's words."""
    match node:
        case ast.Call():
            return "function calls are not allowed"
        case ast.Attribute():
            return (
                "attributes (a.b) are not allowed; a column whose name has dots goes in `backticks`"
            )
        case ast.Subscript():
            return "subscripts (a[...]) are not allowed"
        case ast.BinOp(op=ast.Pow()):
            return "** is not allowed"
        case ast.BinOp(op=op):
            return f"the operator {type(op).__name__} is not allowed"
        case ast.Constant():
            return f"the constant {node.value!r} is not allowed"  # type: ignore[attr-defined]
        case ast.List() | ast.Tuple() | ast.Set() | ast.Dict():
            return "a list may only follow 'in'"
    return f"{type(node).__name__} is not allowed"


def _as_condition(value: Any, text: str) -> Any:
    """A boolean Series or bool, or a refusal (a number is not a condition)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype):
        return value.fillna(False).astype(bool)
    raise FilterError(
        f"filter {text!r}: and / or / not join conditions, e.g. seed > 2 and bad_debt_max > 1e6"
    )


def _as_number(value: Any, text: str) -> Any:
    """A number or numeric Series for arithmetic (no text: 'a' * 10**9 is not a filter)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, pd.Series) and pd.api.types.is_numeric_dtype(value.dtype):
        if pd.api.types.is_bool_dtype(value.dtype):
            raise FilterError(f"filter {text!r}: arithmetic takes numbers, not conditions")
        return value
    raise FilterError(f"filter {text!r}: arithmetic (+ - * /) takes numbers and numeric columns")


def _isin(value: Any, values: list[Any], index: pd.Index) -> Any:
    if isinstance(value, pd.Series):
        return value.isin(values)
    return pd.Series(value in values, index=index)


def filter_rows(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows of ``table`` that a filter typed by a user keeps (empty text: every row).

    Raises:
        FilterError: the filter is refused (see :class:`RowFilter`) or cannot be evaluated.
    """
    if not text.strip():
        return table
    return RowFilter(text, list(table.columns)).apply(table)


__all__ = ["ALLOWED", "FilterError", "RowFilter", "filter_rows"]
