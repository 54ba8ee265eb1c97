"""Fictional demo data for a Russian-speaking region: the EGISZ regional segment's desk.

The OTRS guide of a Russian regional e-health segment names five services requests are sent
to (appointment booking, electronic health record, queue management, laboratory data,
reference data); here they are categories under one parent, handled by one regional group.
Every organisation, person and ticket is invented. Kept apart from ``server/demo.py`` so the
main demo (and its date logic) can change without touching this region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.db.intake_tables import IntakeGroup
from server.db.tables import (
    Category,
    Establishment,
    FollowUp,
    Group,
    GroupEstablishment,
    GroupMember,
    HistoryEntry,
    Ticket,
    User,
)
from server.demo_story import opening_entries
from server.domain.vocabulary import Environment, Priority, Role, Status, TicketType

ZONE = "Europe/Moscow"

# (code, name, parent code)
ORGANISATIONS = [
    ("RSO", "Северная область (вымышленный регион)", None),
    ("MIC", "МИАЦ Северной области", "RSO"),
    ("GP3", "ГБУЗ «Городская поликлиника № 3»", "RSO"),
    ("OKB", "ГБУЗ «Областная клиническая больница»", "RSO"),
    ("KDL", "ООО «Лаборатория КДЛ-Север»", "RSO"),
]

GROUP = (
    "Техподдержка регионального сегмента ЕГИСЗ",
    1,
    "Первая линия: сервисы СЗПВ, ИЭМК, УО, ОДЛИ и НСИ, промышленный и тестовый стенды.",
)

PARENT_CATEGORY = "Региональный сегмент ЕГИСЗ"
# The services of the guide, as categories: (name, default priority).
SERVICES = {
    "booking": ("СЗПВ — запись на приём к врачу", Priority.HIGH),
    "ehr": ("ИЭМК — электронная медицинская карта", Priority.HIGH),
    "queues": ("УО — управление очередями", Priority.MEDIUM),
    "lab": ("ОДЛИ — данные лабораторных исследований", Priority.MEDIUM),
    "reference": ("НСИ — нормативно-справочная информация", Priority.LOW),
}

# (email, full name, role, organisation code)
PEOPLE = [
    ("a.ivanova@gp3.example", "Анна Иванова", Role.REQUESTER, "GP3"),
    ("s.petrov@kdl-sever.example", "Сергей Петров", Role.REQUESTER, "KDL"),
    ("m.sokolova@okb.example", "Марина Соколова", Role.REQUESTER, "OKB"),
    ("tech.egisz@guichet.example", "Дмитрий Орлов", Role.TECHNICIAN, "MIC"),
]
TECHNICIAN = "tech.egisz@guichet.example"
DEMO_ACCOUNTS = [
    ("a.ivanova@gp3.example", "requester (GP3, Russian)"),
    (TECHNICIAN, "technician (EGISZ region, Russian)"),
]


@dataclass(frozen=True)
class DemoTicket:
    requester: str
    service: str
    ticket_type: TicketType
    environment: Environment
    status: Status
    hours_ago: int
    title: str
    description: str
    follow_ups: tuple[tuple[str, str], ...] = ()  # (author e-mail, text)
    solution: str = ""


TICKETS = [
    DemoTicket(
        "a.ivanova@gp3.example",
        "ehr",
        TicketType.INCIDENT,
        Environment.PRODUCTION,
        Status.NEW,
        3,
        "ИЭМК не принимает направление на госпитализацию",
        "При отправке направления из МИС сервис возвращает ошибку валидации документа. "
        "С утра ни одно направление не ушло. Тексты запроса и ответа приложу.",
    ),
    DemoTicket(
        "a.ivanova@gp3.example",
        "booking",
        TicketType.OUTAGE,
        Environment.PRODUCTION,
        Status.ASSIGNED,
        26,
        "Запись на приём к врачу не работает",
        "Сервис записи перестал отвечать: пациенты не могут записаться через портал, "
        "регистратура видит пустое расписание.",
        ((TECHNICIAN, "Принято в работу, проверяем доступность сервиса на промышленном стенде."),),
    ),
    DemoTicket(
        "s.petrov@kdl-sever.example",
        "lab",
        TicketType.CONSULTATION,
        Environment.TEST,
        Status.PENDING,
        50,
        "Какой профиль интеграции использовать для передачи результатов анализов",
        "Подключаем лабораторную информационную систему к ОДЛИ на тестовом стенде. "
        "Подскажите актуальную версию интеграционного профиля и параметры подключения.",
        ((TECHNICIAN, "Уточните, пожалуйста, какую версию протокола поддерживает ваша ЛИС."),),
    ),
    DemoTicket(
        "s.petrov@kdl-sever.example",
        "lab",
        TicketType.ACCESS_REQUEST,
        Environment.PRODUCTION,
        Status.PLANNED,
        72,
        "Предоставить доступ к промышленному стенду ОДЛИ",
        "Интеграционное тестирование на тестовом стенде пройдено. Просим выдать GUID и "
        "адрес доступа для промышленного контура. Согласование владельца данных приложено.",
        ((TECHNICIAN, "Доступ запланирован на ближайшее окно работ."),),
    ),
    DemoTicket(
        "m.sokolova@okb.example",
        "queues",
        TicketType.INCIDENT,
        Environment.PRODUCTION,
        Status.RESOLVED,
        30,
        "Электронная очередь не вызывает пациентов",
        "Табло в холле показывает номера, но вызов к кабинету не приходит.",
        ((TECHNICIAN, "Перезапустили службу уведомлений, вызовы проходят."),),
        "Служба уведомлений сервиса УО перезапущена, вызовы работают. Если проблема "
        "повторится, ответьте на эту заявку.",
    ),
    DemoTicket(
        "m.sokolova@okb.example",
        "reference",
        TicketType.SERVICE_REQUEST,
        Environment.TEST,
        Status.CLOSED,
        240,
        "Обновить справочник медицинских организаций в НСИ",
        "В справочнике нет нового структурного подразделения больницы.",
        ((TECHNICIAN, "Справочник обновлён на тестовом стенде."),),
        "Справочник обновлён, подразделение доступно на тестовом стенде.",
    ),
    DemoTicket(
        "a.ivanova@gp3.example",
        "ehr",
        TicketType.UNSPECIFIED,
        Environment.PRODUCTION,
        Status.NEW,
        1,
        "Не открывается карта пациента из ИЭМК",
        "Врачи не могут открыть сведения из ИЭМК в МИС, выдаётся ошибка 500.",
    ),
]


async def load_russian_region(now: datetime, password_hash: str) -> None:
    """The region, its organisations, its group, services, people and tickets (in Russian).
    Runs inside the demo loader's transaction."""
    organisations: dict[str, int] = {}
    for code, name, parent in ORGANISATIONS:
        row = await Establishment.insert(
            Establishment(
                code=code, name=name, parent=organisations.get(parent or ""), timezone=ZONE
            )
        ).returning(Establishment.id)
        organisations[code] = row[0]["id"]
    name, tier, description = GROUP
    group_id = (
        await Group.insert(Group(name=name, tier=tier, description=description)).returning(Group.id)
    )[0]["id"]
    await GroupEstablishment.insert(
        GroupEstablishment(group=group_id, establishment=organisations["RSO"])
    )
    await IntakeGroup.insert(IntakeGroup(establishment=organisations["RSO"], group=group_id))
    parent_id = (
        await Category.insert(
            Category(
                name=PARENT_CATEGORY, default_priority=Priority.MEDIUM.value, default_group=group_id
            )
        ).returning(Category.id)
    )[0]["id"]
    services: dict[str, tuple[int, Priority]] = {}
    for key, (service_name, priority) in SERVICES.items():
        row = await Category.insert(
            Category(
                name=service_name,
                parent=parent_id,
                default_priority=priority.value,
                default_group=group_id,
            )
        ).returning(Category.id)
        services[key] = (row[0]["id"], priority)
    people: dict[str, dict[str, object]] = {}
    for email, full_name, role, code in PEOPLE:
        row = await User.insert(
            User(
                email=email,
                full_name=full_name,
                role=role.value,
                establishment=organisations[code],
                locale="ru",
                password_hash=password_hash,
            )
        ).returning(User.id)
        people[email] = {"id": row[0]["id"], "name": full_name, "code": code}
    await GroupMember.insert(GroupMember(group=group_id, user=people[TECHNICIAN]["id"]))
    for demo in TICKETS:
        await _ticket(demo, now, organisations, services, people, group_id, name)


async def _ticket(
    demo: DemoTicket,
    now: datetime,
    organisations: dict[str, int],
    services: dict[str, tuple[int, Priority]],
    people: dict[str, dict[str, object]],
    group_id: int,
    group_name: str,
) -> None:
    requester = people[demo.requester]
    tech = people[TECHNICIAN]
    category_id, priority = services[demo.service]
    created = now - timedelta(hours=demo.hours_ago)
    taken = created + timedelta(minutes=40)
    resolved_at = closed_at = None
    if demo.status in (Status.RESOLVED, Status.CLOSED):
        resolved_at = created + timedelta(hours=5)
    if demo.status is Status.CLOSED and resolved_at:
        closed_at = resolved_at + timedelta(hours=72)
    assigned = demo.status is not Status.NEW
    row = await Ticket.insert(
        Ticket(
            title=demo.title,
            description=demo.description,
            ticket_type=demo.ticket_type.value,
            priority=priority.value,
            priority_rank=priority.rank,
            status=demo.status.value,
            requester=requester["id"],
            establishment=organisations[str(requester["code"])],
            category=category_id,
            assigned_group=group_id,
            assignee=tech["id"] if assigned else None,
            contact_name=str(requester["name"]),
            environment=demo.environment.value,
            solution=demo.solution,
            created_at=created,
            updated_at=closed_at or resolved_at or (taken if assigned else created),
            resolved_at=resolved_at,
            closed_at=closed_at,
        )
    ).returning(Ticket.id)
    ticket_id = row[0]["id"]
    history = opening_entries(ticket_id, requester["id"], group_name, created)
    previous = Status.NEW
    if assigned:
        history.append(
            HistoryEntry(
                ticket=ticket_id,
                actor=tech["id"],
                field="assignee",
                new_value=tech["name"],
                created_at=taken,
            )
        )
        path = [Status.ASSIGNED]
        if demo.status in (Status.PLANNED, Status.PENDING):
            path.append(demo.status)
        if resolved_at:
            path.append(Status.RESOLVED)
        for target in path:
            history.append(
                HistoryEntry(
                    ticket=ticket_id,
                    actor=tech["id"],
                    field="status",
                    old_value=previous.value,
                    new_value=target.value,
                    created_at=resolved_at if target is Status.RESOLVED and resolved_at else taken,
                )
            )
            previous = target
    if closed_at:
        history.append(
            HistoryEntry(
                ticket=ticket_id,
                actor=None,
                field="status",
                old_value=Status.RESOLVED.value,
                new_value=Status.CLOSED.value,
                created_at=closed_at,
            )
        )
    await HistoryEntry.insert(*history)
    follow_ups = [
        FollowUp(
            ticket=ticket_id,
            author=people[author]["id"],
            text=text,
            minutes=10,
            created_at=taken + timedelta(minutes=5 * (index + 1)),
        )
        for index, (author, text) in enumerate(demo.follow_ups)
    ]
    if follow_ups:
        await FollowUp.insert(*follow_ups)
