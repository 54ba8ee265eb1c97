"""The templates' quicker ``row.field`` on plain dicts answers what Jinja itself answers."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from jinja2 import Environment, StrictUndefined, UndefinedError

from server.web.rendering import RowEnvironment, make_environment

SOURCES = [
    "{{ row.title }}",
    "{{ row.items()|list }}",  # a dict's own method, not the key of that name
    "{{ row.get('title') }}",
    "{{ row.keys()|list|length }}",
    "{{ row['items'] }}",
    "{{ row.title.upper() }}",
    "{{ row.nested.inner }}",
    "{{ ordered.title }}",  # a dict subclass keeps Jinja's own order
    "{{ row.missing is defined }}",
]


@pytest.mark.parametrize("source", SOURCES)
def test_a_row_field_reads_as_jinja_reads_it(source: str) -> None:
    values = {
        "row": {"title": "PACS lent", "items": "a key named like a method", "nested": {"inner": 3}},
        "ordered": OrderedDict(title="ordered"),
    }
    ours = RowEnvironment(autoescape=True, undefined=StrictUndefined).from_string(source)
    theirs = Environment(autoescape=True, undefined=StrictUndefined).from_string(source)
    assert ours.render(**values) == theirs.render(**values)


def test_a_missing_field_still_fails_loudly() -> None:
    template = make_environment().from_string("{{ row.missing }}")
    with pytest.raises(UndefinedError, match="missing"):
        template.render(row={"title": "x"})
