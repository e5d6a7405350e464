"""The one JSON reader (stitch.jsondata): storable JSON in, a named problem otherwise."""

from __future__ import annotations

import json

import pytest

from stitch import jsondata


def refused(raw: bytes | str) -> jsondata.JSONDataError:
    with pytest.raises(jsondata.JSONDataError) as caught:
        jsondata.loads(raw)
    return caught.value


def test_it_reads_ordinary_json() -> None:
    assert jsondata.loads(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        (b'{"a": {"b": "x\\u0000y"}}', "a.b", "NUL"),
        (b'{"a": ["ok", "\\ud800"]}', "a[1]", "surrogate"),
        (b'{"k\\u0000": 1}', "k\x00", "NUL"),
        (b'{"n": 1e400}', "n", "out of range"),
        (b'{"a": [0, -1e400]}', "a[1]", "out of range"),
        (b'{"n": NaN}', "n", "not a JSON number"),
        (b'{"n": Infinity}', "n", "not a JSON number"),
        (b'{"n": ' + b"9" * 4400 + b"}", "n", "out of range"),
        (b"1e400", "body", "out of range"),
        ("{}".encode("utf-16"), "body", "UTF-8"),
        (b"\xff\xfe{}", "body", "UTF-8"),
        (b"{", "body", "not valid JSON"),
    ],
)
def test_it_names_what_the_database_cannot_store(raw: bytes, path: str, words: str) -> None:
    error = refused(raw)
    assert error.path == path
    assert words in error.message


def test_a_nul_below_600_levels_is_found_without_recursion() -> None:
    raw = "[" * 600 + '"\\u0000"' + "]" * 600
    assert "nesting" in refused(raw).message


def test_it_refuses_nesting_deeper_than_the_limit() -> None:
    assert "nesting" in refused("[" * 257 + "]" * 257).message
    assert jsondata.loads("[" * 256 + "]" * 256) is not None


def test_twenty_thousand_levels_are_a_clear_error() -> None:
    assert "nesting" in refused("[" * 20_000 + "]" * 20_000).message


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"s": "[" * 1000})
    assert jsondata.loads(text) == {"s": "[" * 1000}


def found(value: object, path: str = "") -> jsondata.JSONDataError:
    problem = jsondata.problem(value, path=path)
    assert problem is not None
    return problem


def test_problem_checks_data_built_in_code() -> None:
    assert found({"a": [1, {"b": float("inf")}]}, path="output").path == "output.a[1].b"
    assert found({"a": object()}).message == "object is not a JSON value"
    assert jsondata.problem({"fine": ["x", 1, None]}) is None
    deep: list = []
    for _ in range(300):
        deep = [deep]
    assert "nesting" in found(deep).message


def test_the_field_is_the_top_level_key() -> None:
    assert jsondata.JSONDataError("output.items[3]", "x").field == "output"
    assert jsondata.JSONDataError("items[3]", "x").field == "items"
    assert jsondata.JSONDataError("", "x").field == "body"
