"""The dependency rule: the domain imports neither the web framework nor the ORM."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "server" / "domain"
FORBIDDEN = ("litestar", "piccolo", "jinja2", "server.web", "server.db", "server.services")


def test_domain_is_pure() -> None:
    offenders = []
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
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
