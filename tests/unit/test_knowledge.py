"""Pure knowledge-base rules: Markdown policy, highlights, query words, article access."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from server.domain.actors import Actor
from server.domain.errors import ValidationFailed
from server.domain.knowledge import (
    ArticleAccess,
    ArticleState,
    ArticleVisibility,
    ancestors_and_self,
    can_read_article,
    guess_language,
    highlight_html,
    parse_article,
    render_markdown,
    search_terms,
    suggestion_terms,
    ticket_number,
    tsquery_text,
)
from server.domain.vocabulary import Role

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x73;cript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "<a href='https://ok' onclick='alert(1)'>x</a>",
    '<div hx-get="/logout" hx-trigger="load">x</div>',
    "<iframe src=https://evil></iframe>",
    "<svg><script>alert(1)</script></svg>",
    "<style>body{display:none}</style>",
    "<base href=https://evil/>",
    "<meta http-equiv=refresh content='0;url=https://evil'>",
    "<form action=https://evil><input name=x></form>",
    "![x](https://evil/pixel.png)",
    "<!-- <script>alert(1)</script> -->",
    "<<script>script>alert(1)<</script>/script>",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


SAFE_TAGS = {"p", "a", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "br", "h1"}


@pytest.mark.parametrize("text", XSS)
def test_markdown_output_has_no_active_content(text: str) -> None:
    parser = _Elements()
    parser.feed(render_markdown(f"Avant\n\n{text}\n\nAprès"))
    assert not parser.comments
    for tag, attrs in parser.found:
        assert tag in SAFE_TAGS, (text, tag)
        for name, value in attrs:
            assert name in ("href", "title", "rel", "start"), (text, name)
            if name == "href":
                assert (value or "").startswith(("https://", "http://", "mailto:")), text


def test_markdown_keeps_formatting_and_safe_links() -> None:
    html = render_markdown("# Titre\n\n**gras** et [lien](https://example.org)\n\n- un\n- deux")
    assert "<h1>Titre</h1>" in html and "<strong>gras</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">lien</a>' in html
    assert "<li>un</li>" in html


def test_highlight_escapes_everything_but_the_marks() -> None:
    assert highlight_html("<b>\x02x\x03</b> & \x02y") == "&lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; y"
    assert highlight_html(None) == ""


def test_typed_text_becomes_words_never_syntax() -> None:
    assert search_terms('Écran "bloqué" OR (NOT x*) : -') == ["écran", "bloqué", "or", "not"]
    assert tsquery_text(["ecran", "bloque"]) == "'ecran' & 'bloque'"
    assert tsquery_text(["ecran", "blo"], any_word=True) == "'ecran' | 'blo':*"
    assert suggestion_terms("Mon imprimante ne marche plus") == ["imprimante", "marche"]
    assert ticket_number("#123") == 123 and ticket_number("12a") is None


def test_language_guess() -> None:
    assert guess_language("Принтер не печатает") == "ru"
    assert guess_language("The printer is not working") == "en"
    assert guess_language("L'imprimante ne marche pas") == "fr"
    assert guess_language("VPN") == "fr"


def test_article_access() -> None:
    requester = Actor(1, Role.REQUESTER, 10)
    tech = Actor(2, Role.TECHNICIAN, None)
    public = ArticleAccess(ArticleVisibility.PUBLIC, ArticleState.PUBLISHED, frozenset())
    internal = ArticleAccess(ArticleVisibility.INTERNAL, ArticleState.PUBLISHED, frozenset())
    draft = ArticleAccess(ArticleVisibility.PUBLIC, ArticleState.DRAFT, frozenset())
    for_parent = ArticleAccess(ArticleVisibility.PUBLIC, ArticleState.PUBLISHED, frozenset({5}))
    reach = ancestors_and_self(10, {10: 5, 5: None})
    assert reach == [10, 5]
    assert can_read_article(requester, public, reach)
    assert can_read_article(requester, for_parent, reach)
    assert not can_read_article(requester, for_parent, [10])
    assert not can_read_article(requester, internal, reach)
    assert not can_read_article(requester, draft, reach)
    assert all(can_read_article(tech, a, []) for a in (public, internal, draft, for_parent))
    gone = Actor(2, Role.TECHNICIAN, None, active=False)
    assert not can_read_article(gone, public, [])
    assert ancestors_and_self(1, {1: 2, 2: 1}) == [1, 2]  # a cycle does not loop


def test_article_form_validation() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_article({"title": "", "body": "", "language": "de", "visibility": "x"}, ["a"])
    assert set(caught.value.errors) == {"title", "body", "language", "visibility", "establishments"}
    form = parse_article({"title": " T ", "body": "B", "state": "published"}, ["3", "3", "1"])
    assert form.title == "T" and form.establishment_ids == (1, 3)
    assert form.visibility is ArticleVisibility.INTERNAL  # internal unless said otherwise


def test_suggestions_keep_one_article_per_family_in_the_readers_language() -> None:
    from server.domain.knowledge import prefer_language

    found = [
        {"id": 1, "family": 1, "language": "fr"},
        {"id": 2, "family": 2, "language": "fr"},
        {"id": 3, "family": 1, "language": "en"},
        {"id": 4, "family": 4, "language": "ru"},
    ]
    assert [r["id"] for r in prefer_language(found, "en", 5)] == [3, 2, 4]
    assert [r["id"] for r in prefer_language(found, "fr", 5)] == [1, 2, 4]
    assert [r["id"] for r in prefer_language(found, "ru", 2)] == [4, 1]
    # Rows without a family (older callers) each stand alone.
    assert [r["id"] for r in prefer_language([{"id": 7, "language": "fr"}], "en", 3)] == [7]


def test_a_family_holds_one_article_per_language() -> None:
    from server.domain.knowledge import family_root, missing_language, translation_error

    family = {10: "fr", 11: "en"}
    assert translation_error("en", family, None) is not None
    assert translation_error("en", family, 11) is None  # itself does not count
    assert translation_error("ru", family, None) is None
    assert missing_language({"fr"}) == "en"
    assert missing_language({"fr", "en"}) == "ru"
    assert family_root(5, None) == 5 and family_root(5, 2) == 2
