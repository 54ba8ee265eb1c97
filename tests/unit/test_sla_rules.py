"""Pure rules around the SLA arithmetic: next change, admin settings, policy choice, jobs,
banners, CSV cells and report counts."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain import sla_forms, sla_rules
from server.domain.errors import ValidationFailed
from server.domain.sla import (
    Calendar,
    SlaPolicy,
    StatusChange,
    Target,
    WeeklyWindow,
    WorkingHours,
    due,
    next_change,
)

PARIS = ZoneInfo("Europe/Paris")
OFFICE = Calendar("Europe/Paris", WorkingHours.office(time(8), time(18)))
POLICY = SlaPolicy(take_in_charge=Target.hours(2), resolve=Target.hours(10))


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)  # 2026-11-23 is a Monday


def test_next_change_is_the_at_risk_instant_then_the_breach() -> None:
    opened = [StatusChange(paris(23, 9), "new")]
    # 80% of 2 business hours: 10:36; then just after the 11:00 due time.
    first = next_change(POLICY, OFFICE, opened, paris(23, 9, 30))
    assert first == paris(23, 10, 36).astimezone(UTC)
    second = next_change(POLICY, OFFICE, opened, paris(23, 10, 40))
    assert second == paris(23, 11).astimezone(UTC) + timedelta(seconds=1)
    state = due(POLICY, OFFICE, opened, second)
    assert state.take_in_charge.status.value == "breached"


def test_next_change_skips_nights_and_ignores_paused_or_met_clocks() -> None:
    opened = [StatusChange(paris(23, 17), "new"), StatusChange(paris(23, 17, 30), "assigned")]
    # Taken in charge: only resolution runs; 10 h from Monday 17:00 end on Tuesday 17:00.
    assert next_change(POLICY, OFFICE, opened, paris(23, 18)) == paris(24, 15).astimezone(UTC)
    pending = [*opened, StatusChange(paris(23, 17, 45), "pending")]
    assert next_change(POLICY, OFFICE, pending, paris(24, 9)) is None
    resolved = [*opened, StatusChange(paris(23, 17, 45), "resolved")]
    assert next_change(POLICY, OFFICE, resolved, paris(24, 9)) is None


def test_next_change_counts_maintenance_windows() -> None:
    always = Calendar(
        "Europe/Paris", WorkingHours.always(), maintenance=(WeeklyWindow(6, time(0), time(6)),)
    )
    policy = SlaPolicy(take_in_charge=Target.hours(1), resolve=Target.hours(10))
    opened = [StatusChange(datetime(2026, 11, 28, 23, 30, tzinfo=PARIS), "new")]  # Saturday
    # 80% of one hour from Saturday 23:30: 30 min before the Sunday 00:00-06:00 window,
    # 18 min after it.
    at_risk = next_change(policy, always, opened, datetime(2026, 11, 28, 23, 50, tzinfo=PARIS))
    assert at_risk == datetime(2026, 11, 29, 6, 18, tzinfo=PARIS).astimezone(UTC)


def test_settings_typed_by_admins() -> None:
    assert sla_rules.parse_day("08:00-12:00; 13:30-24:00") == [
        ("08:00", "12:00"),
        ("13:30", "24:00"),
    ]
    hours = sla_rules.working_hours([[("08:00", "12:00"), ("13:30", "24:00")]] + [[]] * 6)
    assert hours.on(0)[1] == (time(13, 30), time(0))
    for bad in ("8h-12h", "08:00", "08:00-25:00", "08:0-09:00"):
        with pytest.raises(sla_rules.SettingError):
            sla_rules.parse_day(bad)
    with pytest.raises(sla_rules.SettingError):
        sla_rules.working_hours([[("12:00", "08:00")]] + [[]] * 6)
    assert sla_rules.parse_zone(" America/Montreal ") == "America/Montreal"
    for zone in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(sla_rules.SettingError):
            sla_rules.parse_zone(zone)
    assert sla_rules.parse_holidays("2026-12-25\n2026-12-25, 2027-01-01") == [
        date(2026, 12, 25),
        date(2027, 1, 1),
    ]
    with pytest.raises(sla_rules.SettingError):
        sla_rules.parse_holidays("25/12/2026")


def row(id: int, priority: str = "high", category: int | None = None, kind: str = "") -> dict:
    return {
        "id": id,
        "active": True,
        "priority": priority,
        "category": category,
        "ticket_type": kind,
    }


def test_the_most_specific_policy_wins() -> None:
    rows = [row(1), row(2, category=10), row(3, category=11), row(4, "", 11), row(5, kind="outage")]
    chain = [11, 10]  # category 11, child of 10
    assert sla_rules.choose_policy(rows, "high", chain, "incident")["id"] == 3
    assert sla_rules.choose_policy(rows, "low", chain, "incident")["id"] == 4
    assert sla_rules.choose_policy(rows, "high", [10], "incident")["id"] == 2
    assert sla_rules.choose_policy(rows, "high", [], "outage")["id"] == 5
    assert sla_rules.choose_policy(rows, "medium", [], "incident") is None
    inactive = [{**row(1), "active": False}]
    assert sla_rules.choose_policy(inactive, "high", [], "incident") is None


def test_ancestors_and_raised_priority() -> None:
    assert sla_rules.ancestors(3, {3: 2, 2: 1, 1: None}) == [3, 2, 1]
    assert sla_rules.ancestors(1, {1: 2, 2: 1}) == [1, 2]  # a cycle is cut
    assert sla_rules.raised("medium") == "high"
    assert sla_rules.raised("very_high") == "very_high"


def test_auto_close_and_reminder_timing() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    after = timedelta(hours=72)
    assert sla_rules.auto_close_due(now - after, now, after)
    assert not sla_rules.auto_close_due(now - after + timedelta(seconds=1), now, after)
    assert not sla_rules.auto_close_due(None, now, after)
    since = now - timedelta(hours=50)
    assert sla_rules.reminder_due(since, None, now, timedelta(hours=48))
    assert not sla_rules.reminder_due(since, since + timedelta(hours=49), now, timedelta(hours=48))
    # A reminder of an earlier pending period does not count for this one.
    assert sla_rules.reminder_due(since, since - timedelta(days=3), now, timedelta(hours=48))
    assert not sla_rules.reminder_due(now - timedelta(hours=1), None, now, timedelta(hours=48))


def test_banner_audience_and_time() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    assert sla_rules.announcement_shown(frozenset(), [5], False, start, end, now)
    assert sla_rules.announcement_shown(frozenset({1}), [5, 1], False, start, end, now)
    assert not sla_rules.announcement_shown(frozenset({2}), [5, 1], False, start, end, now)
    assert sla_rules.announcement_shown(frozenset({2}), [], True, start, end, now)
    assert not sla_rules.announcement_shown(frozenset(), [5], False, now + timedelta(1), end, now)
    assert not sla_rules.announcement_shown(frozenset(), [5], False, start, now, now)


def test_csv_cells_never_run_as_formulas() -> None:
    for value in ("=1+1", "+33 1", "-2", "@SUM(A1)", "\tx"):
        assert sla_rules.csv_cell(value).startswith("'")
    assert sla_rules.csv_cell("CHA") == "CHA" and sla_rules.csv_cell(None) == ""


def test_compliance_counts_only_measured_targets() -> None:
    row_ = sla_rules.Compliance("CHA")
    for take, resolve in (("met", "met"), ("breached", "ok"), ("met", "breached"), ("ok", "ok")):
        row_.add(take, resolve)
    assert (row_.tickets, row_.take_measured, row_.take_in_time) == (4, 3, 2)
    assert row_.take_percent == 66.7 and row_.resolve_percent == 50.0
    assert sla_rules.Compliance("x").take_percent is None


def test_policy_form_needs_exactly_one_target_each() -> None:
    with pytest.raises(ValidationFailed) as failed:
        sla_forms.parse_policy(
            {
                "name": "",
                "priority": "urgent",
                "take_hours": "2",
                "take_days": "1",
                "resolve_hours": "-3",
            },
            set(),
            set(),
        )
    assert set(failed.value.errors) == {"name", "priority", "take_hours", "resolve_hours"}
    values = sla_forms.parse_policy(
        {
            "name": "N1",
            "priority": "",
            "take_hours": "1,5",
            "resolve_days": "2",
            "active": "1",
            "idle_hours": "24",
        },
        set(),
        set(),
    )
    assert values["take_minutes"] == 90 and values["resolve_business_days"] == 2
    assert values["priority"] == "" and values["idle_hours"] == 24 and values["active"] is True


def test_window_and_announcement_forms() -> None:
    with pytest.raises(ValidationFailed) as failed:
        sla_forms.parse_window(
            {"name": "W", "kind": "weekly", "weekday": "9", "start_time": "00:00", "end_time": "6"},
            set(),
            set(),
            PARIS,
        )
    assert set(failed.value.errors) == {"weekday", "end_time"}
    once = sla_forms.parse_window(
        {
            "name": "W",
            "kind": "once",
            "starts_at": "2026-12-01T22:00",
            "ends_at": "2026-12-02T01:00",
            "establishment": "4",
        },
        {4},
        set(),
        PARIS,
    )
    assert once["starts_at"] == datetime(2026, 12, 1, 22, tzinfo=PARIS)
    assert once["establishment"] == 4
    with pytest.raises(ValidationFailed) as failed:
        sla_forms.parse_announcement(
            {
                "kind": "outage",
                "title": "T",
                "display_from": "2026-12-01T23:00",
                "starts_at": "2026-12-01T22:00",
                "ends_at": "2026-12-01T21:00",
            },
            {1},
            {2},
            ["1", "7"],
            ["2"],
            PARIS,
        )
    assert set(failed.value.errors) == {"display_from", "ends_at", "establishments"}
