"""``guichet catalogue``: the real entry point on a scratch database of the test's engine.
Export, import into a new database, export again: the same file; importing twice changes
nothing; a faulty file names its lines and loads nothing; list, add, rename, move, archive."""

from __future__ import annotations

import json
from pathlib import Path

from server.domain.catalogue import parse_category, parse_group, parse_request_type
from server.services import catalogue, teams
from tests import factories
from tests.conftest import DATABASE_URL
from tests.integration.test_backup_restore import empty_database, guichet  # noqa: F401


async def _source_catalogue() -> None:
    w = await factories.world()
    n1 = await teams.save_group(
        None,
        None,
        parse_group(
            {
                "name": "Support N1",
                "name_ru": "Поддержка",
                "tier": "1",
                "email": "n1@desk.test",
                "next_tier_id": str(w.group_id),
            }
        ),
    )
    top = await catalogue.save_category(
        None,
        None,
        parse_category(
            {
                "name": "Services régionaux",
                "name_en": "Regional services",
                "name_ru": "Региональные сервисы",
                "default_group_id": str(n1),
            }
        ),
    )
    child = await catalogue.save_category(
        None,
        None,
        parse_category(
            {
                "name": "Prise de rendez-vous",
                "name_ru": "Запись на приём",
                "parent_id": str(top),
                "default_priority": "high",
                "description": "Agenda en ligne",
                "description_ru": "Онлайн-запись",
            }
        ),
    )
    await catalogue.save_request_type(
        None,
        child,
        None,
        parse_request_type(
            {
                "name": "Créneau absent",
                "name_en": "Missing slot",
                "priority": "very_high",
                "group_id": str(w.group_id),
            }
        ),
    )
    await catalogue.set_category_active(None, w.category_id, False)


async def test_export_import_round_trip_on_a_new_database(
    tmp_path: Path,
    empty_database: str,  # noqa: F811
) -> None:
    await _source_catalogue()
    for file_format in ("json", "csv"):
        first = tmp_path / f"first.{file_format}"
        done = guichet(
            "catalogue",
            "export",
            "--format",
            file_format,
            "--output",
            str(first),
            DATABASE_URL=DATABASE_URL,
        )
        assert done.returncode == 0, done.stderr
    document = json.loads((tmp_path / "first.json").read_text())
    assert any(i["name_ru"] == "Запись на приём" for i in document["items"])

    assert guichet("migrate", DATABASE_URL=empty_database).returncode == 0
    for file_format in ("json", "csv"):
        first = tmp_path / f"first.{file_format}"
        for round_number in (1, 2):  # the second import finds everything in place
            loaded = guichet("catalogue", "import", str(first), DATABASE_URL=empty_database)
            assert loaded.returncode == 0, loaded.stderr
            again = guichet(
                "catalogue", "export", "--format", file_format, DATABASE_URL=empty_database
            )
            assert again.returncode == 0, again.stderr
            assert again.stdout == first.read_text(), (file_format, round_number)


async def test_faulty_file_names_its_lines_and_loads_nothing(
    tmp_path: Path,
    empty_database: str,  # noqa: F811
) -> None:
    assert guichet("migrate", DATABASE_URL=empty_database).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kind,code,parent,name_fr,priority\ncategory,ok,,Correcte,medium\ncategory,KO KO,,,urgent\n"
    )
    refused = guichet("catalogue", "import", str(bad), DATABASE_URL=empty_database)
    assert refused.returncode == 2
    assert "line 3, code" in refused.stderr and "line 3, priority" in refused.stderr
    assert "Nothing was imported." in refused.stderr
    listed = guichet("catalogue", "list", DATABASE_URL=empty_database)
    assert "0 category(ies)." in listed.stdout


async def test_add_rename_move_archive_from_the_command_line(
    empty_database: str,  # noqa: F811
) -> None:
    db = {"DATABASE_URL": empty_database}
    assert guichet("migrate", **db).returncode == 0
    assert (
        guichet("catalogue", "add", "egisz", "--name", "Services régionaux", **db).returncode == 0
    )
    added = guichet(
        "catalogue",
        "add",
        "ehr",
        "--name",
        "DPI",
        "--name-ru",
        "ЭМК",
        "--parent",
        "egisz",
        "--priority",
        "high",
        **db,
    )
    assert added.returncode == 0, added.stderr
    assert guichet("catalogue", "rename", "ehr", "Dossier patient", **db).returncode == 0
    loop = guichet("catalogue", "move", "egisz", "--parent", "ehr", **db)
    assert loop.returncode == 2 and "parent_id" in loop.stderr
    assert guichet("catalogue", "move", "ehr", **db).returncode == 0
    assert guichet("catalogue", "archive", "egisz", **db).returncode == 0
    missing = guichet("catalogue", "archive", "nowhere", **db)
    assert missing.returncode == 2 and "No category with code nowhere" in missing.stderr
    listed = guichet("catalogue", "list", **db).stdout
    assert "ehr" in listed and "Dossier patient  (high, -)" in listed
    assert "Services régionaux  (medium, -)  [archived]" in listed
    exported = json.loads(guichet("catalogue", "export", **db).stdout)
    ehr = next(i for i in exported["items"] if i["code"] == "ehr")
    assert (ehr["parent"], ehr["name_fr"], ehr["name_ru"]) == ("", "Dossier patient", "ЭМК")


async def test_the_demo_catalogue_speaks_three_languages_and_round_trips(
    tmp_path: Path,
    empty_database: str,  # noqa: F811
) -> None:
    db = {"DATABASE_URL": empty_database}
    assert guichet("migrate", **db).returncode == 0
    assert guichet("demo", **db).returncode == 0
    exported = guichet("catalogue", "export", **db)
    items = json.loads(exported.stdout)["items"]
    by_name = {i["name_fr"]: i for i in items}
    incident = by_name["Incident de production"]
    assert (incident["name_en"], incident["name_ru"]) == (
        "Production incident",
        "Инцидент в рабочей среде",
    )
    assert by_name["Réseau (N3)"]["name_en"] == "Network (L3)"
    assert by_name["Региональный сегмент ЕГИСЗ"]["establishment"] == "RSO"
    assert all(i["code"] for i in items if i["kind"] == "category")
    saved = tmp_path / "demo.json"
    saved.write_text(exported.stdout)
    loaded = guichet("catalogue", "import", str(saved), **db)
    assert loaded.returncode == 0, loaded.stderr
    again = guichet("catalogue", "export", **db)
    assert again.stdout == exported.stdout
