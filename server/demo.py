"""Fictional demo data: one region, three establishments, three tiers, ~300 tickets, plus a
Russian-speaking region (``server/demo_russian.py``).

Loading is idempotent: when the demo administrator exists, nothing is changed. Every name,
address and ticket here is invented.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.table import Table

from server.db import counters, report_tally
from server.db.engine import write_transaction
from server.db.history_guard import history_unguarded
from server.db.intake_tables import IntakeGroup
from server.db.kb_tables import KbArticle, KbRevision
from server.db.notification_tables import InAppNotification
from server.db.sla_tables import (
    Announcement,
    BusinessCalendar,
    EstablishmentCalendar,
    MaintenanceWindow,
    SlaPolicy,
    TicketSla,
)
from server.db.tables import (
    Attachment,
    Category,
    Establishment,
    FollowUp,
    Group,
    GroupEstablishment,
    GroupMember,
    HistoryEntry,
    Outbox,
    SupervisorScope,
    Ticket,
    TicketShare,
    TicketWatcher,
    User,
)
from server.demo_articles import load_articles
from server.demo_catalogue import translate_demo_catalogue
from server.demo_russian import DEMO_ACCOUNTS as RUSSIAN_ACCOUNTS
from server.demo_russian import load_russian_region
from server.demo_story import opening_entries
from server.domain.vocabulary import Environment, Priority, Role, Status, TicketType
from server.services import sla
from server.services.accounts import hash_password

PARIS = ZoneInfo("Europe/Paris")

DEMO_PASSWORD = "guichet-demo"  # noqa: S105 - documented demo password, fictional accounts
DEMO_ACCOUNTS = [
    ("admin@guichet.example", "admin"),
    ("superviseur@guichet.example", "supervisor"),
    ("tech.n1@guichet.example", "technician (tier 1)"),
    ("tech.n3@guichet.example", "technician (tier 3)"),
    ("demandeur@chu-a.example", "requester (CHA)"),
    ("demandeur@clinique-b.example", "requester (CLB)"),
    *RUSSIAN_ACCOUNTS,
]

ESTABLISHMENTS = [
    ("RCE", "Région Centre (fictive)", None),
    ("GCS", "GCS Télésanté (fictif)", "RCE"),
    ("CHA", "CHU Anselme", "GCS"),
    ("CLB", "Clinique des Bouleaux", "GCS"),
    ("CHC", "Centre hospitalier de Corbelle", "GCS"),
]

GROUPS = [
    ("Support local (N1)", 1, "Premier niveau : accueil, comptes, postes de travail."),
    ("Applications (N2)", 2, "Deuxième niveau : logiciels cliniques et formulaires."),
    ("Réseau (N3)", 3, "Troisième niveau : flux, pare-feu, VPN."),
]
# Which establishments each tier serves (a node serves its children): the local desk covers
# two establishments, the regional teams the whole group of hospitals.
SERVES = {1: ("CHA", "CLB"), 2: ("GCS",), 3: ("GCS",)}
# Supervisors' scopes (subtrees).
SCOPES = {"superviseur@guichet.example": ("RCE",)}

# (name, parent, default priority, default group tier)
CATEGORIES: list[tuple[str, str | None, Priority, int | None]] = [
    ("Applications", None, Priority.MEDIUM, 2),
    ("Modification de formulaires et restitutions", "Applications", Priority.MEDIUM, 2),
    ("Incident de production", "Applications", Priority.HIGH, 2),
    ("Incident de pré-production", "Applications", Priority.MEDIUM, 2),
    ("Support fonctionnel", "Applications", Priority.MEDIUM, 1),
    ("Extraction de données", "Applications", Priority.LOW, 2),
    ("Comptes et formation", None, Priority.MEDIUM, 1),
    ("Gestion des accès", "Comptes et formation", Priority.MEDIUM, 1),
    ("Demande de formation", "Comptes et formation", Priority.LOW, 1),
    ("Infrastructure", None, Priority.MEDIUM, 3),
    ("Flux réseau", "Infrastructure", Priority.HIGH, 3),
    ("Matériel", "Infrastructure", Priority.MEDIUM, 1),
]

# (email, full name, role, establishment code, group tier)
PEOPLE: list[tuple[str, str, Role, str | None, int | None]] = [
    ("admin@guichet.example", "Alix Administratrice", Role.ADMIN, None, None),
    ("superviseur@guichet.example", "Samuel Superviseur", Role.SUPERVISOR, "GCS", None),
    ("tech.n1@guichet.example", "Théo Niveau-Un", Role.TECHNICIAN, "GCS", 1),
    ("tech.n2@guichet.example", "Nina Deuxième", Role.TECHNICIAN, "GCS", 2),
    ("tech.n3@guichet.example", "Rémi Réseau", Role.TECHNICIAN, "GCS", 3),
    ("demandeur@chu-a.example", "Dr Claire Demandeuse", Role.REQUESTER, "CHA", None),
    ("cadre@chu-a.example", "Paul Cadre-de-Santé", Role.REQUESTER, "CHA", None),
    ("demandeur@clinique-b.example", "Inès Bouleau", Role.REQUESTER, "CLB", None),
    ("informatique@corbelle.example", "Marc Correspondant", Role.REQUESTER, "CHC", None),
]

SUBJECTS = {
    "Modification de formulaires et restitutions": [
        "Ajouter un champ au formulaire de réunion de concertation",
        "Restitution PDF : le logo de l'établissement est déformé",
        "Modifier l'ordre des rubriques de la fiche de saisie",
    ],
    "Incident de production": [
        "Le dossier patient informatisé ne s'ouvre plus",
        "Erreur 500 à l'enregistrement d'une prescription",
        "Lenteurs importantes sur le logiciel de rendez-vous",
        "Impossible d'imprimer les étiquettes de prélèvement",
    ],
    "Incident de pré-production": [
        "Jeu de test incomplet en pré-production",
        "Connecteur laboratoire en échec sur l'environnement de test",
    ],
    "Support fonctionnel": [
        "Comment fusionner deux rendez-vous ?",
        "Question sur l'export des comptes rendus",
        "Paramétrage des alertes de résultats critiques",
    ],
    "Extraction de données": [
        "Extraction mensuelle de l'activité de consultation",
        "Liste des dossiers créés sur le trimestre (sans données nominatives)",
    ],
    "Gestion des accès": [
        "Création de compte pour un interne arrivant lundi",
        "Désactivation du compte d'un agent parti",
        "Réinitialisation de carte professionnelle",
    ],
    "Demande de formation": [
        "Formation à l'InfoCentre pour l'équipe de cardiologie",
        "Session de prise en main du portail pour les secrétaires",
    ],
    "Flux réseau": [
        "Port du pare-feu bloqué vers le serveur d'imagerie",
        "VPN inter-sites instable depuis ce matin",
        "Ouverture de flux vers le serveur de messagerie sécurisée",
    ],
    "Matériel": [
        "Lecteur de cartes défectueux au secrétariat",
        "Écran du poste infirmier qui clignote",
        "Imprimante du service des urgences hors ligne",
    ],
}

DESCRIPTIONS = [
    "Constaté ce matin par plusieurs utilisateurs du service. Aucune donnée patient n'est "
    "jointe ; capture d'écran disponible sur demande.",
    "Le problème se reproduit à chaque tentative depuis hier après-midi. Le poste a été "
    "redémarré sans effet.",
    "Demande validée par le cadre du service. Merci de nous indiquer un délai de réalisation.",
    "Le message d'erreur indique « accès refusé ». Les autres applications fonctionnent.",
]

FOLLOW_UPS = [
    "Pris en compte, nous analysons les journaux.",
    "Pouvez-vous préciser le nom du poste concerné ?",
    "Le poste s'appelle SEC-URG-04.",
    "Correctif appliqué, merci de confirmer que tout fonctionne.",
    "Toujours le même comportement de notre côté.",
]

SOLUTIONS = [
    "Règle de pare-feu corrigée ; le flux est de nouveau ouvert.",
    "Compte créé et droits attribués selon le profil demandé.",
    "Cache applicatif vidé, performances revenues à la normale.",
    "Formulaire modifié et mis en production.",
]

# Rough shape of a live desk's backlog.
STATUS_WEIGHTS = [
    (Status.NEW, 40),
    (Status.ASSIGNED, 55),
    (Status.PLANNED, 25),
    (Status.PENDING, 30),
    (Status.RESOLVED, 40),
    (Status.CLOSED, 110),
]


async def demo_present() -> bool:
    try:
        return bool(await User.exists().where(User.email == DEMO_ACCOUNTS[0][0]))
    except Exception:
        return False


async def load_demo(ticket_count: int = 300, seed: int = 20261121) -> bool:
    """Load the demo data unless already present. Returns whether anything was created."""
    if await demo_present():
        return False
    rng = random.Random(seed)
    password_hash = await hash_password(DEMO_PASSWORD)
    now = datetime.now(UTC).replace(microsecond=0)
    async with write_transaction():
        est = await _establishments()
        groups = await _groups()
        categories = await _categories(groups)
        users = await _people(est, groups, password_hash)
        await _reach(est, groups, users)
        # Every ticket reaches a team: the region's uncategorised tickets go to the local desk.
        await IntakeGroup.insert(IntakeGroup(establishment=est["RCE"], group=groups[1]))
        await _tickets(rng, now, ticket_count, est, groups, categories, users)
        # A second, Russian-speaking region (server/demo_russian.py).
        await load_russian_region(now, password_hash)
        # Names in English and Russian, codes, the region's own services (server/demo_catalogue.py).
        await translate_demo_catalogue()
        await counters.rebuild()  # tickets were inserted directly, not through the use cases
        await report_tally.rebuild()
        await _service_levels(now, est, groups, categories)
        await sla.refresh_all(now)
        # The demo's past happened before the rules existed: breaches already there are not
        # escalated again when the scheduler first runs; new ones will be.
        await TicketSla.update({TicketSla.take_escalated: True}).where(
            TicketSla.take_state == "breached"
        )
        await TicketSla.update({TicketSla.resolve_escalated: True}).where(
            TicketSla.resolve_state == "breached"
        )
        await TicketSla.update({TicketSla.idle_escalated: True}).where(TicketSla.id > 0)
        await load_articles(users["tech.n1@guichet.example"]["id"], est, categories)
        # Canned replies in three languages (server/demo_canned.py).
        from server.demo_canned import load_canned_replies

        await load_canned_replies(groups, users)
    return True


# Service levels. EasyVista's three criticality levels (ELSAN guide: handled within 24 h,
# 48-72 h, 4-5 days) become business-day targets on a Monday-Friday 08:00-18:00 calendar
# (one business day = 10 business hours): level 1 for very high and high priorities, level 2
# for medium, level 3 for low and very low. Taking in charge follows the Ontario desk's
# acknowledgement rule (by the end of the next business day), except level 1 (2 h).
# (name, priority, take minutes, take business days, resolve minutes, raise priority)
SLA_LEVELS = [
    ("Niveau 1 (EasyVista, 24 h)", Priority.VERY_HIGH, 120, None, 600, False),
    ("Niveau 1 (EasyVista, 24 h)", Priority.HIGH, 120, None, 600, True),
    ("Niveau 2 (EasyVista, 48-72 h)", Priority.MEDIUM, None, 1, 1800, True),
    ("Niveau 3 (EasyVista, 4-5 jours)", Priority.LOW, None, 1, 3000, False),
    ("Niveau 3 (EasyVista, 4-5 jours)", Priority.VERY_LOW, None, 1, 3000, False),
]
WEEKDAYS_8_18 = json.dumps([[["08:00", "18:00"]]] * 5 + [[], []])
WEEKDAYS_830_1630 = json.dumps([[["08:30", "16:30"]]] * 5 + [[], []])
# French public holidays (Paris) and Quebec statutory holidays (Montreal), 2026-2027.
HOLIDAYS_FR = "\n".join(
    [
        "2026-12-25",
        "2027-01-01",
        "2027-03-29",
        "2027-05-01",
        "2027-05-06",
        "2027-05-08",
        "2027-05-17",
        "2027-07-14",
        "2027-08-15",
        "2027-11-01",
        "2027-11-11",
        "2027-12-25",
    ]
)
HOLIDAYS_QC = "\n".join(
    [
        "2026-12-25",
        "2027-01-01",
        "2027-03-26",
        "2027-05-24",
        "2027-06-24",
        "2027-07-01",
        "2027-09-06",
        "2027-10-11",
        "2027-12-25",
    ]
)


async def _service_levels(
    now: datetime, est: dict[str, int], groups: dict[int, int], categories: dict[str, Any]
) -> None:
    for name, priority, take_minutes, take_days, resolve_minutes, raise_it in SLA_LEVELS:
        await SlaPolicy.insert(
            SlaPolicy(
                name=name,
                priority=priority.value,
                take_minutes=take_minutes,
                take_business_days=take_days,
                resolve_minutes=resolve_minutes,
                breach_notify=True,
                breach_raise_priority=raise_it,
            )
        )
    # The Ontario desk: acknowledge by the next business day; when nothing happened within
    # 24 h of submission, escalate to the next tier. Shipped for first-level support.
    await SlaPolicy.insert(
        SlaPolicy(
            name="Accusé de réception (Ontario) : jour ouvrable suivant, N+1 après 24 h",
            priority="",
            category=categories["Support fonctionnel"]["id"],
            take_business_days=1,
            resolve_business_days=3,
            breach_notify=True,
            idle_hours=24,
        )
    )
    paris = await BusinessCalendar.insert(
        BusinessCalendar(
            name="Lun-ven 8 h-18 h (Paris)",
            timezone="Europe/Paris",
            hours=WEEKDAYS_8_18,
            holidays=HOLIDAYS_FR,
        )
    ).returning(BusinessCalendar.id)
    await BusinessCalendar.insert(
        BusinessCalendar(
            name="Lun-ven 8 h 30-16 h 30 (Montréal)",
            timezone="America/Montreal",
            hours=WEEKDAYS_830_1630,
            holidays=HOLIDAYS_QC,
        )
    )
    # The region's calendar; every establishment below inherits it.
    await EstablishmentCalendar.insert(
        EstablishmentCalendar(establishment=est["RCE"], calendar=paris[0]["id"])
    )
    await MaintenanceWindow.insert(
        MaintenanceWindow(
            name="Maintenance hebdomadaire",
            kind="weekly",
            weekday=6,
            start_time="00:00",
            end_time="06:00",
        )
    )
    await _announcement(now)


_ANNOUNCEMENT_TITLE = "Maintenance hebdomadaire : dimanche 0 h-6 h"


async def _announcement(now: datetime) -> None:
    """The banner of the coming Sunday's maintenance (replaced when the demo is refreshed)."""
    await Announcement.delete().where(Announcement.title == _ANNOUNCEMENT_TITLE)
    sunday = (now + timedelta(days=(6 - now.weekday()) % 7 or 7)).astimezone(PARIS)
    start = sunday.replace(hour=0, minute=0, second=0)
    await Announcement.insert(
        Announcement(
            kind="maintenance",
            title=_ANNOUNCEMENT_TITLE,
            body="Le guichet reste accessible ; les délais de service ne courent pas.",
            display_from=start - timedelta(days=2),
            starts_at=start,
            ends_at=start + timedelta(hours=6),
        )
    )


async def _establishments() -> dict[str, int]:
    ids: dict[str, int] = {}
    for code, name, parent in ESTABLISHMENTS:
        row = await Establishment.insert(
            Establishment(code=code, name=name, parent=ids.get(parent or ""))
        ).returning(Establishment.id)
        ids[code] = row[0]["id"]
    return ids


async def _groups() -> dict[int, int]:
    ids: dict[int, int] = {}
    for name, tier, description in GROUPS:
        row = await Group.insert(Group(name=name, tier=tier, description=description)).returning(
            Group.id
        )
        ids[tier] = row[0]["id"]
    return ids


async def _categories(groups: dict[int, int]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for name, parent, priority, tier in CATEGORIES:
        row = await Category.insert(
            Category(
                name=name,
                parent=result[parent]["id"] if parent else None,
                default_priority=priority.value,
                default_group=groups[tier] if tier else None,
            )
        ).returning(Category.id)
        result[name] = {"id": row[0]["id"], "priority": priority, "group": tier}
    return result


async def _people(
    est: dict[str, int], groups: dict[int, int], password_hash: str
) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    for email, name, role, code, tier in PEOPLE:
        row = await User.insert(
            User(
                email=email,
                full_name=name,
                role=role.value,
                establishment=est[code] if code else None,
                password_hash=password_hash,
            )
        ).returning(User.id)
        users[email] = {"id": row[0]["id"], "name": name, "role": role, "code": code, "tier": tier}
        if tier:
            await GroupMember.insert(GroupMember(group=groups[tier], user=row[0]["id"]))
    return users


async def _reach(
    est: dict[str, int], groups: dict[int, int], users: dict[str, dict[str, Any]]
) -> None:
    for tier, codes in SERVES.items():
        for code in codes:
            await GroupEstablishment.insert(
                GroupEstablishment(group=groups[tier], establishment=est[code])
            )
    for email, codes in SCOPES.items():
        for code in codes:
            await SupervisorScope.insert(
                SupervisorScope(user=users[email]["id"], establishment=est[code])
            )


async def _tickets(
    rng: random.Random,
    now: datetime,
    count: int,
    est: dict[str, int],
    groups: dict[int, int],
    categories: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
) -> None:
    requesters = [u for u in users.values() if u["role"] is Role.REQUESTER]
    technicians = {u["tier"]: u for u in users.values() if u["tier"]}
    group_names = {groups[tier]: name for name, tier, _ in GROUPS}
    leaf_categories = [name for name in SUBJECTS]
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    for _ in range(count):
        status = rng.choices(statuses, weights)[0]
        requester = rng.choice(requesters)
        cat_name = rng.choice(leaf_categories)
        cat = categories[cat_name]
        tier = cat["group"] or 1
        tech = technicians[tier]
        age = _age(rng, status)
        # Open tickets younger than a week are aged in office time, so that the share of them
        # past their service levels does not depend on the day and hour the demo is loaded.
        created = _office_ago(now, age) if status.is_open and age < timedelta(days=7) else now - age
        assigned = status is not Status.NEW
        resolved_at = closed_at = None
        if status in (Status.RESOLVED, Status.CLOSED):
            resolved_at = created + timedelta(hours=rng.randint(1, 96))
            if status is Status.RESOLVED:
                # Still waiting for the requester: resolved within the 72 h before closing.
                resolved_at = max(resolved_at, now - timedelta(hours=60))
            resolved_at = min(resolved_at, now - timedelta(minutes=5))
        if status is Status.CLOSED and resolved_at:
            closed_at = min(resolved_at + timedelta(hours=72), now)
        priority = cat["priority"] if rng.random() < 0.7 else rng.choice(list(Priority))
        row = await Ticket.insert(
            Ticket(
                title=rng.choice(SUBJECTS[cat_name]),
                description=rng.choice(DESCRIPTIONS),
                ticket_type=_type_for(cat_name, rng).value,
                priority=priority.value,
                priority_rank=priority.rank,
                status=status.value,
                requester=requester["id"],
                establishment=est[requester["code"]],
                category=cat["id"],
                assigned_group=groups[tier],
                assignee=tech["id"] if assigned else None,
                contact_name=requester["name"],
                contact_phone=f"02 47 00 {rng.randint(10, 99)} {rng.randint(10, 99)}",
                environment=(
                    Environment.PREPRODUCTION
                    if "pré-production" in cat_name
                    else Environment.PRODUCTION
                ).value,
                shared=rng.random() > 0.15,
                solution=rng.choice(SOLUTIONS) if resolved_at else "",
                version=1,
                created_at=created,
                updated_at=closed_at or resolved_at or created,
                resolved_at=resolved_at,
                closed_at=closed_at,
            )
        ).returning(Ticket.id)
        ticket_id = row[0]["id"]
        await _ticket_story(
            rng,
            ticket_id,
            status,
            created,
            resolved_at,
            closed_at,
            requester,
            tech,
            group_names[groups[tier]],
        )


async def _ticket_story(
    rng: random.Random,
    ticket_id: int,
    status: Status,
    created: datetime,
    resolved_at: datetime | None,
    closed_at: datetime | None,
    requester: dict[str, Any],
    tech: dict[str, Any],
    group_name: str,
) -> None:
    """History and follow-ups consistent with the ticket's status."""
    entries = opening_entries(ticket_id, requester["id"], group_name, created)
    follow_ups = []
    step = created + timedelta(minutes=rng.randint(5, 90))
    path: list[Status] = []
    if status is not Status.NEW:
        entries.append(
            HistoryEntry(
                ticket=ticket_id,
                actor=tech["id"],
                field="assignee",
                new_value=tech["name"],
                created_at=step,
            )
        )
        path.append(Status.ASSIGNED)
        follow_ups.append(
            FollowUp(
                ticket=ticket_id,
                author=tech["id"],
                text=FOLLOW_UPS[0],
                minutes=rng.choice([5, 10, 15]),
                created_at=step,
            )
        )
    if status is Status.PLANNED:
        path.append(Status.PLANNED)
    if status is Status.PENDING:
        path.append(Status.PENDING)
        follow_ups.append(
            FollowUp(
                ticket=ticket_id,
                author=tech["id"],
                text=FOLLOW_UPS[1],
                created_at=step + timedelta(minutes=2),
            )
        )
    if rng.random() < 0.3 and status is not Status.NEW:
        follow_ups.append(
            FollowUp(
                ticket=ticket_id,
                author=tech["id"],
                private=True,
                text="Note interne : vérifier la configuration du proxy.",
                created_at=step + timedelta(minutes=3),
            )
        )
    previous = Status.NEW
    for target in path:
        entries.append(
            HistoryEntry(
                ticket=ticket_id,
                actor=tech["id"],
                field="status",
                old_value=previous.value,
                new_value=target.value,
                created_at=step,
            )
        )
        previous = target
    if resolved_at:
        entries.append(
            HistoryEntry(
                ticket=ticket_id,
                actor=tech["id"],
                field="status",
                old_value=previous.value,
                new_value=Status.RESOLVED.value,
                created_at=resolved_at,
            )
        )
    if closed_at:
        entries.append(
            HistoryEntry(
                ticket=ticket_id,
                actor=None,
                field="status",
                old_value=Status.RESOLVED.value,
                new_value=Status.CLOSED.value,
                created_at=closed_at,
            )
        )
    await HistoryEntry.insert(*entries)
    if follow_ups:
        await FollowUp.insert(*follow_ups)


def _age(rng: random.Random, status: Status) -> timedelta:
    """How long ago a demo ticket was filed. A working desk keeps most open tickets within
    their service levels: open ones are mostly days old, some older (at risk), a few weeks
    old (breached); closed ones spread over the last three months."""
    if status is Status.CLOSED:
        return timedelta(minutes=rng.randint(60 * 24 * 4, 60 * 24 * 90))
    if status is Status.RESOLVED:
        return timedelta(minutes=rng.randint(60 * 6, 60 * 24 * 10))
    draw = rng.random()
    if status is Status.NEW and draw < 0.85:
        # Nobody has taken it yet: it came in within the last hours.
        return timedelta(minutes=rng.randint(10, 60 * 3))
    if draw < 0.88:
        return timedelta(minutes=rng.randint(20, 60 * 20))
    if draw < 0.96:
        return timedelta(minutes=rng.randint(60 * 20, 60 * 24 * 4))
    return timedelta(minutes=rng.randint(60 * 24 * 7, 60 * 24 * 21))


# The demo calendar's week: Monday-Friday 08:00-18:00, 50 of the week's 168 hours.
_OFFICE_OPEN, _OFFICE_CLOSE, _OFFICE_SHARE = 8, 18, 50 / 168


def _office_ago(now: datetime, age: timedelta) -> datetime:
    """The moment before ``now`` that leaves as much office time (Paris, Monday-Friday
    08:00-18:00) as a week's average would in ``age`` of wall time: a ticket three days old
    on a Monday morning has a weekend in it, one three days old on a Friday evening has not."""
    left = age * _OFFICE_SHARE
    moment = now.astimezone(PARIS)
    while True:
        opens = moment.replace(hour=_OFFICE_OPEN, minute=0, second=0, microsecond=0)
        closes = opens.replace(hour=_OFFICE_CLOSE)
        end = min(moment, closes)
        if moment.weekday() < 5 and end > opens:
            # In UTC: within one office day there is no change of clock to get wrong.
            available = end.astimezone(UTC) - opens.astimezone(UTC)
            if left <= available:
                return (end.astimezone(UTC) - left).replace(microsecond=0)
            left -= available
        moment = (opens - timedelta(days=1)).replace(hour=_OFFICE_CLOSE)


# What a demo's story is dated by: refreshing moves all of it by the time since it was loaded.
_DATED: list[tuple[type[Table], tuple[str, ...]]] = [
    (Ticket, ("created_at", "updated_at", "resolved_at", "closed_at")),
    (FollowUp, ("created_at",)),
    (HistoryEntry, ("created_at",)),
    (Attachment, ("created_at",)),
    (TicketWatcher, ("created_at",)),
    (TicketShare, ("created_at",)),
    (InAppNotification, ("created_at", "read_at")),
    (Outbox, ("created_at", "next_attempt_at", "sent_at")),
    (KbArticle, ("created_at", "updated_at")),
    (KbRevision, ("created_at",)),
]


async def refresh_demo_dates(now: datetime | None = None) -> timedelta:
    """Move the demo's dates forward by the time since it was loaded (or last refreshed), so an
    old demo database still looks like a working desk today; service levels are recomputed.
    Returns the shift (zero when less than an hour has passed)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    anchor = await User.select(User.id, User.created_at).where(
        User.email == DEMO_ACCOUNTS[0][0]
    ).first()
    if anchor is None:
        return timedelta(0)
    shift = now - anchor["created_at"]
    if shift < timedelta(hours=1):
        return timedelta(0)
    async with write_transaction(), history_unguarded():
        for table, names in _DATED:
            columns = [table._meta.get_column_by_name(name) for name in names]
            for row in await table.select(table._meta.primary_key, *columns):
                values = {
                    column: row[column._meta.name] + shift
                    for column in columns
                    if row[column._meta.name] is not None
                }
                if values:
                    await table.update(values).where(
                        table._meta.primary_key == row[table._meta.primary_key._meta.name]
                    )
        await User.update({User.created_at: now}).where(User.id == anchor["id"])
        await _announcement(now)
        await sla.refresh_all(now)
    return shift


def _type_for(category: str, rng: random.Random) -> TicketType:
    if "Incident" in category or category in ("Flux réseau", "Matériel"):
        return TicketType.OUTAGE if rng.random() < 0.05 else TicketType.INCIDENT
    if category == "Gestion des accès":
        return TicketType.ACCESS_REQUEST
    if category == "Support fonctionnel":
        return TicketType.CONSULTATION
    return TicketType.SERVICE_REQUEST
