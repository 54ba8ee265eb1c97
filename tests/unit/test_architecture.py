"""The dependency rules: the domain imports neither the web framework nor the ORM; the live
side and the shared views import nothing from the HTTP handlers."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "server" / "domain"
FORBIDDEN = ("litestar", "piccolo", "jinja2", "server.web", "server.db", "server.services")


def imported(path: Path) -> list[str]:
    """Every module a source file imports, at any depth of the file."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_domain_is_pure() -> None:
    offenders = [
        f"{path.name}: {name}"
        for path in DOMAIN.glob("*.py")
        for name in imported(path)
        if name.startswith(FORBIDDEN)
    ]
    assert offenders == []
    assert len(list(DOMAIN.glob("*.py"))) >= 5


def test_page_templates_carry_no_inline_styles() -> None:
    """The Content-Security-Policy allows styles from our stylesheet only: an inline
    ``style`` attribute would be silently ignored by browsers."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "frontend" / "templates"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        if path.parent.name != "mail" and re.search(r"\sstyle=", path.read_text())
    ]
    assert offenders == []


def test_live_updates_and_shared_views_import_nothing_from_web() -> None:
    """HTTP pages and websocket pushes share ``server.views``; the socket side never reaches
    into the HTTP handlers (nor does the shared presentation)."""
    root = Path(__file__).resolve().parents[2] / "server"
    offenders = [
        f"{package}/{path.name}: {name}"
        for package in ("realtime", "views")
        for path in (root / package).glob("*.py")
        for name in imported(path)
        if name.startswith("server.web")
    ]
    assert offenders == []


def test_fragments_are_templates_not_python_strings() -> None:
    """HTML sent to the browser (pages, htmx swaps, websocket pushes) comes from templates:
    no string literal in the handlers, the live side or the shared views holds a tag."""
    import re

    root = Path(__file__).resolve().parents[2] / "server"
    tag = re.compile(r"<(div|span|p|section|article|a|ul|li|table|tr|td|button|form)[\s>]")
    offenders = []
    for package in ("web", "realtime", "views"):
        for path in (root / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and tag.search(text):
                    offenders.append(f"{package}/{path.name}:{node.lineno}")
    assert offenders == []
