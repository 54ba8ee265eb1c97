"""Reports' read model (issue 15): hour-by-hour tallies of created, resolved and reopened
tickets, time spent, and first-response and resolution durations in buckets; backfilled from
tickets, history and follow-ups (past events under the ticket's present group, category and
technician). The backfill is frozen here; ``server.db.report_tally.rebuild`` does the same."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T08:41:06:821226"
VERSION = "1.38.0"
DESCRIPTION = "report tallies"

KEY = "hour, establishment, assigned_group, category, assignee"
BACKFILL = {
    "postgres": ['INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 'created, resolved, reopened, minutes) SELECT floor(extract(epoch FROM t.created_at) / '
 '3600)::integer, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0), COUNT(*), 0, 0, 0 FROM ticket t WHERE true GROUP BY '
 'floor(extract(epoch FROM t.created_at) / 3600)::integer, t.establishment, '
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), COALESCE(t.assignee, 0) ON CONFLICT '
 '(hour, establishment, assigned_group, category, assignee) DO UPDATE SET created = '
 'ticket_hour_tally.created + excluded.created, resolved = ticket_hour_tally.resolved + '
 'excluded.resolved, reopened = ticket_hour_tally.reopened + excluded.reopened, minutes = '
 'ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 'created, resolved, reopened, minutes) SELECT floor(extract(epoch FROM t.resolved_at) / '
 '3600)::integer, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0), 0, COUNT(*), 0, 0 FROM ticket t WHERE t.resolved_at IS NOT NULL '
 'GROUP BY floor(extract(epoch FROM t.resolved_at) / 3600)::integer, t.establishment, '
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), COALESCE(t.assignee, 0) ON CONFLICT '
 '(hour, establishment, assigned_group, category, assignee) DO UPDATE SET created = '
 'ticket_hour_tally.created + excluded.created, resolved = ticket_hour_tally.resolved + '
 'excluded.resolved, reopened = ticket_hour_tally.reopened + excluded.reopened, minutes = '
 'ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 'created, resolved, reopened, minutes) SELECT floor(extract(epoch FROM h.created_at) / '
 '3600)::integer, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0), 0, 0, COUNT(*), 0 FROM history_entry h JOIN ticket t ON t.id = '
 "h.ticket WHERE h.field = 'status' AND h.old_value IN ('resolved', 'closed') AND h.new_value "
 "IN ('new', 'assigned', 'planned', 'pending') GROUP BY floor(extract(epoch FROM h.created_at) "
 '/ 3600)::integer, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0) ON CONFLICT (hour, establishment, assigned_group, category, '
 'assignee) DO UPDATE SET created = ticket_hour_tally.created + excluded.created, resolved = '
 'ticket_hour_tally.resolved + excluded.resolved, reopened = ticket_hour_tally.reopened + '
 'excluded.reopened, minutes = ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 'created, resolved, reopened, minutes) SELECT floor(extract(epoch FROM f.created_at) / '
 '3600)::integer, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'f.author, 0, 0, 0, SUM(f.minutes) FROM follow_up f JOIN ticket t ON t.id = f.ticket WHERE '
 'f.minutes > 0 GROUP BY floor(extract(epoch FROM f.created_at) / 3600)::integer, '
 't.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), f.author ON '
 'CONFLICT (hour, establishment, assigned_group, category, assignee) DO UPDATE SET created = '
 'ticket_hour_tally.created + excluded.created, resolved = ticket_hour_tally.resolved + '
 'excluded.resolved, reopened = ticket_hour_tally.reopened + excluded.reopened, minutes = '
 'ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_duration_tally (hour, establishment, assigned_group, category, assignee, '
 'measure, bucket, n) SELECT floor(extract(epoch FROM t.resolved_at) / 3600)::integer, '
 't.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 "COALESCE(t.assignee, 0), 'resolution', CASE WHEN extract(epoch FROM (t.resolved_at - "
 't.created_at)) <= 300 THEN 0 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= 900 '
 'THEN 1 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= 1800 THEN 2 WHEN '
 'extract(epoch FROM (t.resolved_at - t.created_at)) <= 3600 THEN 3 WHEN extract(epoch FROM '
 '(t.resolved_at - t.created_at)) <= 7200 THEN 4 WHEN extract(epoch FROM (t.resolved_at - '
 't.created_at)) <= 14400 THEN 5 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= '
 '28800 THEN 6 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= 86400 THEN 7 WHEN '
 'extract(epoch FROM (t.resolved_at - t.created_at)) <= 172800 THEN 8 WHEN extract(epoch FROM '
 '(t.resolved_at - t.created_at)) <= 259200 THEN 9 WHEN extract(epoch FROM (t.resolved_at - '
 't.created_at)) <= 604800 THEN 10 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= '
 '1209600 THEN 11 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= 2592000 THEN 12 '
 'ELSE 13 END, COUNT(*) FROM ticket t WHERE t.resolved_at IS NOT NULL GROUP BY '
 'floor(extract(epoch FROM t.resolved_at) / 3600)::integer, t.establishment, '
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), COALESCE(t.assignee, 0), CASE WHEN '
 'extract(epoch FROM (t.resolved_at - t.created_at)) <= 300 THEN 0 WHEN extract(epoch FROM '
 '(t.resolved_at - t.created_at)) <= 900 THEN 1 WHEN extract(epoch FROM (t.resolved_at - '
 't.created_at)) <= 1800 THEN 2 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= '
 '3600 THEN 3 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= 7200 THEN 4 WHEN '
 'extract(epoch FROM (t.resolved_at - t.created_at)) <= 14400 THEN 5 WHEN extract(epoch FROM '
 '(t.resolved_at - t.created_at)) <= 28800 THEN 6 WHEN extract(epoch FROM (t.resolved_at - '
 't.created_at)) <= 86400 THEN 7 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= '
 '172800 THEN 8 WHEN extract(epoch FROM (t.resolved_at - t.created_at)) <= 259200 THEN 9 WHEN '
 'extract(epoch FROM (t.resolved_at - t.created_at)) <= 604800 THEN 10 WHEN extract(epoch FROM '
 '(t.resolved_at - t.created_at)) <= 1209600 THEN 11 WHEN extract(epoch FROM (t.resolved_at - '
 't.created_at)) <= 2592000 THEN 12 ELSE 13 END',
 'INSERT INTO ticket_duration_tally (hour, establishment, assigned_group, category, assignee, '
 'measure, bucket, n) SELECT floor(extract(epoch FROM x.first_at) / 3600)::integer, '
 "x.establishment, x.g, x.c, x.a, 'first_response', CASE WHEN extract(epoch FROM (x.first_at - "
 'x.created_at)) <= 300 THEN 0 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 900 '
 'THEN 1 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 1800 THEN 2 WHEN '
 'extract(epoch FROM (x.first_at - x.created_at)) <= 3600 THEN 3 WHEN extract(epoch FROM '
 '(x.first_at - x.created_at)) <= 7200 THEN 4 WHEN extract(epoch FROM (x.first_at - '
 'x.created_at)) <= 14400 THEN 5 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 28800 '
 'THEN 6 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 86400 THEN 7 WHEN '
 'extract(epoch FROM (x.first_at - x.created_at)) <= 172800 THEN 8 WHEN extract(epoch FROM '
 '(x.first_at - x.created_at)) <= 259200 THEN 9 WHEN extract(epoch FROM (x.first_at - '
 'x.created_at)) <= 604800 THEN 10 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= '
 '1209600 THEN 11 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 2592000 THEN 12 ELSE '
 '13 END, COUNT(*) FROM (SELECT t.created_at, t.establishment, COALESCE(t.assigned_group, 0) '
 'AS g, COALESCE(t.category, 0) AS c, COALESCE(t.assignee, 0) AS a, (SELECT MIN(f.created_at) '
 'FROM follow_up f JOIN account a ON a.id = f.author WHERE f.ticket = t.id AND f.private = '
 "false AND a.role IN ('technician', 'supervisor', 'admin')) AS first_at FROM ticket t) x "
 'WHERE x.first_at IS NOT NULL GROUP BY floor(extract(epoch FROM x.first_at) / 3600)::integer, '
 'x.establishment, x.g, x.c, x.a, CASE WHEN extract(epoch FROM (x.first_at - x.created_at)) <= '
 '300 THEN 0 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 900 THEN 1 WHEN '
 'extract(epoch FROM (x.first_at - x.created_at)) <= 1800 THEN 2 WHEN extract(epoch FROM '
 '(x.first_at - x.created_at)) <= 3600 THEN 3 WHEN extract(epoch FROM (x.first_at - '
 'x.created_at)) <= 7200 THEN 4 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 14400 '
 'THEN 5 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 28800 THEN 6 WHEN '
 'extract(epoch FROM (x.first_at - x.created_at)) <= 86400 THEN 7 WHEN extract(epoch FROM '
 '(x.first_at - x.created_at)) <= 172800 THEN 8 WHEN extract(epoch FROM (x.first_at - '
 'x.created_at)) <= 259200 THEN 9 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= '
 '604800 THEN 10 WHEN extract(epoch FROM (x.first_at - x.created_at)) <= 1209600 THEN 11 WHEN '
 'extract(epoch FROM (x.first_at - x.created_at)) <= 2592000 THEN 12 ELSE 13 END'],
    "sqlite": ['INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 "created, resolved, reopened, minutes) SELECT CAST(strftime('%s', t.created_at) AS INTEGER) / "
 '3600, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0), COUNT(*), 0, 0, 0 FROM ticket t WHERE true GROUP BY '
 "CAST(strftime('%s', t.created_at) AS INTEGER) / 3600, t.establishment, "
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), COALESCE(t.assignee, 0) ON CONFLICT '
 '(hour, establishment, assigned_group, category, assignee) DO UPDATE SET created = '
 'ticket_hour_tally.created + excluded.created, resolved = ticket_hour_tally.resolved + '
 'excluded.resolved, reopened = ticket_hour_tally.reopened + excluded.reopened, minutes = '
 'ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 "created, resolved, reopened, minutes) SELECT CAST(strftime('%s', t.resolved_at) AS INTEGER) "
 '/ 3600, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0), 0, COUNT(*), 0, 0 FROM ticket t WHERE t.resolved_at IS NOT NULL '
 "GROUP BY CAST(strftime('%s', t.resolved_at) AS INTEGER) / 3600, t.establishment, "
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), COALESCE(t.assignee, 0) ON CONFLICT '
 '(hour, establishment, assigned_group, category, assignee) DO UPDATE SET created = '
 'ticket_hour_tally.created + excluded.created, resolved = ticket_hour_tally.resolved + '
 'excluded.resolved, reopened = ticket_hour_tally.reopened + excluded.reopened, minutes = '
 'ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 "created, resolved, reopened, minutes) SELECT CAST(strftime('%s', h.created_at) AS INTEGER) / "
 '3600, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0), 0, 0, COUNT(*), 0 FROM history_entry h JOIN ticket t ON t.id = '
 "h.ticket WHERE h.field = 'status' AND h.old_value IN ('resolved', 'closed') AND h.new_value "
 "IN ('new', 'assigned', 'planned', 'pending') GROUP BY CAST(strftime('%s', h.created_at) AS "
 'INTEGER) / 3600, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 'COALESCE(t.assignee, 0) ON CONFLICT (hour, establishment, assigned_group, category, '
 'assignee) DO UPDATE SET created = ticket_hour_tally.created + excluded.created, resolved = '
 'ticket_hour_tally.resolved + excluded.resolved, reopened = ticket_hour_tally.reopened + '
 'excluded.reopened, minutes = ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee, '
 "created, resolved, reopened, minutes) SELECT CAST(strftime('%s', f.created_at) AS INTEGER) / "
 '3600, t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), f.author, 0, '
 '0, 0, SUM(f.minutes) FROM follow_up f JOIN ticket t ON t.id = f.ticket WHERE f.minutes > 0 '
 "GROUP BY CAST(strftime('%s', f.created_at) AS INTEGER) / 3600, t.establishment, "
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), f.author ON CONFLICT (hour, '
 'establishment, assigned_group, category, assignee) DO UPDATE SET created = '
 'ticket_hour_tally.created + excluded.created, resolved = ticket_hour_tally.resolved + '
 'excluded.resolved, reopened = ticket_hour_tally.reopened + excluded.reopened, minutes = '
 'ticket_hour_tally.minutes + excluded.minutes',
 'INSERT INTO ticket_duration_tally (hour, establishment, assigned_group, category, assignee, '
 "measure, bucket, n) SELECT CAST(strftime('%s', t.resolved_at) AS INTEGER) / 3600, "
 't.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), '
 "COALESCE(t.assignee, 0), 'resolution', CASE WHEN (CAST(strftime('%s', t.resolved_at) AS "
 "INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 300 THEN 0 WHEN "
 "(CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 900 THEN 1 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 1800 THEN 2 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 3600 THEN 3 "
 "WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 7200 THEN 4 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 14400 THEN 5 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 28800 THEN 6 "
 "WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 86400 THEN 7 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 172800 THEN 8 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 259200 THEN 9 "
 "WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 604800 THEN 10 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 1209600 THEN 11 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 2592000 THEN "
 '12 ELSE 13 END, COUNT(*) FROM ticket t WHERE t.resolved_at IS NOT NULL GROUP BY '
 "CAST(strftime('%s', t.resolved_at) AS INTEGER) / 3600, t.establishment, "
 'COALESCE(t.assigned_group, 0), COALESCE(t.category, 0), COALESCE(t.assignee, 0), CASE WHEN '
 "(CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 300 THEN 0 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 900 THEN 1 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 1800 THEN 2 "
 "WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 3600 THEN 3 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 7200 THEN 4 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 14400 THEN 5 "
 "WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 28800 THEN 6 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 86400 THEN 7 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 172800 THEN 8 "
 "WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS "
 "INTEGER)) <= 259200 THEN 9 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - "
 "CAST(strftime('%s', t.created_at) AS INTEGER)) <= 604800 THEN 10 WHEN (CAST(strftime('%s', "
 "t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) AS INTEGER)) <= 1209600 THEN "
 "11 WHEN (CAST(strftime('%s', t.resolved_at) AS INTEGER) - CAST(strftime('%s', t.created_at) "
 'AS INTEGER)) <= 2592000 THEN 12 ELSE 13 END',
 'INSERT INTO ticket_duration_tally (hour, establishment, assigned_group, category, assignee, '
 "measure, bucket, n) SELECT CAST(strftime('%s', x.first_at) AS INTEGER) / 3600, "
 "x.establishment, x.g, x.c, x.a, 'first_response', CASE WHEN (CAST(strftime('%s', x.first_at) "
 "AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 300 THEN 0 WHEN "
 "(CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 900 THEN 1 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 1800 THEN 2 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 3600 THEN 3 WHEN "
 "(CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 7200 THEN 4 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 14400 THEN 5 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 28800 THEN 6 "
 "WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 86400 THEN 7 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 172800 THEN 8 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 259200 THEN 9 "
 "WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 604800 THEN 10 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 1209600 THEN 11 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 2592000 THEN 12 "
 'ELSE 13 END, COUNT(*) FROM (SELECT t.created_at, t.establishment, COALESCE(t.assigned_group, '
 '0) AS g, COALESCE(t.category, 0) AS c, COALESCE(t.assignee, 0) AS a, (SELECT '
 'MIN(f.created_at) FROM follow_up f JOIN account a ON a.id = f.author WHERE f.ticket = t.id '
 "AND f.private = false AND a.role IN ('technician', 'supervisor', 'admin')) AS first_at FROM "
 "ticket t) x WHERE x.first_at IS NOT NULL GROUP BY CAST(strftime('%s', x.first_at) AS "
 "INTEGER) / 3600, x.establishment, x.g, x.c, x.a, CASE WHEN (CAST(strftime('%s', x.first_at) "
 "AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 300 THEN 0 WHEN "
 "(CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 900 THEN 1 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 1800 THEN 2 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 3600 THEN 3 WHEN "
 "(CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 7200 THEN 4 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 14400 THEN 5 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 28800 THEN 6 "
 "WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 86400 THEN 7 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 172800 THEN 8 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 259200 THEN 9 "
 "WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS "
 "INTEGER)) <= 604800 THEN 10 WHEN (CAST(strftime('%s', x.first_at) AS INTEGER) - "
 "CAST(strftime('%s', x.created_at) AS INTEGER)) <= 1209600 THEN 11 WHEN (CAST(strftime('%s', "
 "x.first_at) AS INTEGER) - CAST(strftime('%s', x.created_at) AS INTEGER)) <= 2592000 THEN 12 "
 'ELSE 13 END'],
}


def up_sql(engine_type: str) -> list[str]:
    serial = "SERIAL PRIMARY KEY" if engine_type == "postgres" else "INTEGER PRIMARY KEY"
    return [
        f"""CREATE TABLE ticket_hour_tally (
            id {serial},
            hour INTEGER NOT NULL,
            establishment INTEGER NOT NULL,
            assigned_group INTEGER NOT NULL,
            category INTEGER NOT NULL,
            assignee INTEGER NOT NULL,
            created INTEGER NOT NULL DEFAULT 0,
            resolved INTEGER NOT NULL DEFAULT 0,
            reopened INTEGER NOT NULL DEFAULT 0,
            minutes INTEGER NOT NULL DEFAULT 0)""",
        f"CREATE UNIQUE INDEX ticket_hour_tally_key ON ticket_hour_tally ({KEY})",
        f"""CREATE TABLE ticket_duration_tally (
            id {serial},
            hour INTEGER NOT NULL,
            establishment INTEGER NOT NULL,
            assigned_group INTEGER NOT NULL,
            category INTEGER NOT NULL,
            assignee INTEGER NOT NULL,
            measure VARCHAR(20) NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL DEFAULT 0)""",
        f"CREATE UNIQUE INDEX ticket_duration_tally_key ON ticket_duration_tally"
        f" ({KEY}, measure, bucket)",
        *BACKFILL[engine_type],
    ]


DOWN = ["DROP TABLE IF EXISTS ticket_duration_tally", "DROP TABLE IF EXISTS ticket_hour_tally"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in up_sql(engine.engine_type):
            await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        for sql in DOWN:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
