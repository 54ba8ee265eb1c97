"""The demo catalogue in three languages (issue 16): English and Russian names of the demo's
groups and categories, codes for import and export, and the Russian region's services
offered only to that region (fictional data, like the rest of the demo)."""

from __future__ import annotations

from server.db.catalogue_tables import LabelTranslation
from server.db.tables import Category, Establishment, Group
from server.demo_russian import PARENT_CATEGORY
from server.services.catalogue import ensure_codes

# Default (stored) name -> (English, Russian).
GROUP_NAMES = {
    "Support local (N1)": ("Local support (L1)", "Местная поддержка (1-я линия)"),
    "Applications (N2)": ("Applications (L2)", "Приложения (2-я линия)"),
    "Réseau (N3)": ("Network (L3)", "Сеть (3-я линия)"),
    "Техподдержка регионального сегмента ЕГИСЗ": (
        "EGISZ regional segment support",
        "Техподдержка регионального сегмента ЕГИСЗ",
    ),
}
CATEGORY_NAMES = {
    "Applications": ("Applications", "Приложения"),
    "Modification de formulaires et restitutions": (
        "Form and report changes",
        "Изменение форм и отчётов",
    ),
    "Incident de production": ("Production incident", "Инцидент в рабочей среде"),
    "Incident de pré-production": ("Pre-production incident", "Инцидент в тестовой среде"),
    "Support fonctionnel": ("Functional support", "Функциональная поддержка"),
    "Extraction de données": ("Data extraction", "Выгрузка данных"),
    "Comptes et formation": ("Accounts and training", "Учётные записи и обучение"),
    "Gestion des accès": ("Access management", "Управление доступом"),
    "Demande de formation": ("Training request", "Заявка на обучение"),
    "Infrastructure": ("Infrastructure", "Инфраструктура"),
    "Flux réseau": ("Network flows", "Сетевые потоки"),
    "Matériel": ("Hardware", "Оборудование"),
    PARENT_CATEGORY: ("EGISZ regional segment", PARENT_CATEGORY),
    "СЗПВ — запись на приём к врачу": ("Appointment booking", "СЗПВ — запись на приём к врачу"),
    "ИЭМК — электронная медицинская карта": (
        "Electronic health record",
        "ИЭМК — электронная медицинская карта",
    ),
    "УО — управление очередями": ("Queue management", "УО — управление очередями"),
    "ОДЛИ — данные лабораторных исследований": (
        "Laboratory data",
        "ОДЛИ — данные лабораторных исследований",
    ),
    "НСИ — нормативно-справочная информация": (
        "Reference data",
        "НСИ — нормативно-справочная информация",
    ),
}
REGION = "RSO"


async def translate_demo_catalogue() -> None:
    """Runs inside the demo loader's transaction, after groups and categories exist."""
    rows: list[LabelTranslation] = []
    for entity, table, names in (
        ("group", Group, GROUP_NAMES),
        ("category", Category, CATEGORY_NAMES),
    ):
        for row in await table.select(table.id, table.name):
            if row["name"] not in names:
                continue
            for language, text in zip(("en", "ru"), names[row["name"]], strict=True):
                if text != row["name"]:
                    rows.append(
                        LabelTranslation(
                            entity=entity,
                            entity_id=row["id"],
                            field="name",
                            language=language,
                            text=text,
                        )
                    )
    if rows:
        await LabelTranslation.insert(*rows)
    region = (
        await Establishment.select(Establishment.id).where(Establishment.code == REGION).first()
    )
    parent = await Category.select(Category.id).where(Category.name == PARENT_CATEGORY).first()
    if region is not None and parent is not None:
        # The region's services are its own: offered to its organisations only.
        await Category.update({Category.establishment: region["id"]}).where(
            Category.id == parent["id"]
        )
    await ensure_codes()
