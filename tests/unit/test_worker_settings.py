"""Which configurations may serve from several worker processes (``guichet serve --workers``,
``guichet check``)."""

from __future__ import annotations

import dataclasses

from server.services.preflight import configuration_problems, worker_problems
from server.settings import MailSettings, load_settings

PG = "postgresql://guichet@db.example:5432/guichet"


def settings(**changes):
    return dataclasses.replace(load_settings(), **changes)


def test_one_worker_always_fits() -> None:
    assert worker_problems(settings(database_url="sqlite:///x.sqlite3"), 1) == []


def test_several_workers_need_postgresql_and_a_shared_bus() -> None:
    assert worker_problems(settings(database_url=PG, channels="postgres"), 4) == []
    assert worker_problems(settings(database_url=PG, channels="redis"), 2) == []
    sqlite = worker_problems(settings(database_url="sqlite:///x.sqlite3", channels="memory"), 2)
    assert len(sqlite) == 2
    assert "PostgreSQL" in sqlite[0] and "GUICHET_CHANNELS" in sqlite[1]


def test_mail_intake_runs_apart_from_several_workers() -> None:
    mail = dataclasses.replace(MailSettings(), inbound_port=2525)
    problems = worker_problems(settings(database_url=PG, channels="postgres", mail=mail), 2)
    assert problems and "guichet inbound" in problems[0]


def test_guichet_check_reports_the_workers_setting() -> None:
    assert any("GUICHET_WORKERS=0" in p for p in configuration_problems(settings(workers=0)))
    assert not any("WORKERS" in p for p in configuration_problems(settings(workers=1)))
