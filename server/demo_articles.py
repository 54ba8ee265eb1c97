"""Fictional knowledge-base articles for the demo data (French, English, Russian)."""

from __future__ import annotations

from typing import Any

from server.db.kb_tables import KbArticle, KbArticleEstablishment, KbRevision

# (title, language, visibility, category name or None, establishment codes, Markdown body)
ARTICLES: list[tuple[str, str, str, str | None, tuple[str, ...], str]] = [
    (
        "Imprimante hors ligne ou bloquée : que faire ?",
        "fr",
        "public",
        "Matériel",
        (),
        "Avant d'ouvrir un ticket :\n\n1. Vérifiez que l'imprimante est allumée et a du papier.\n"
        "2. Dans **Périphériques et imprimantes**, choisissez *Voir ce qui s'imprime* puis "
        "*Annuler tous les documents*.\n3. Éteignez l'imprimante 30 secondes.\n\n"
        "Si rien ne sort encore, ouvrez un ticket en précisant le nom inscrit sur l'étiquette.",
    ),
    (
        "Mot de passe expiré : le changer depuis un poste du service",
        "fr",
        "public",
        "Gestion des accès",
        (),
        "Le mot de passe expire tous les 90 jours.\n\n- Appuyez sur **Ctrl + Alt + Suppr**\n"
        "- Choisissez *Modifier un mot de passe*\n- 12 caractères au moins\n\n"
        "Compte verrouillé après 5 essais : appelez le support local.",
    ),
    (
        "Accès au DPI depuis la Clinique des Bouleaux",
        "fr",
        "public",
        "Support fonctionnel",
        ("CLB",),
        "À la clinique, le DPI s'ouvre par l'icône **DPI Bouleaux** du bureau, pas par le "
        "portail du GCS.",
    ),
    (
        "VPN: the connection drops every few minutes",
        "en",
        "public",
        "Flux réseau",
        (),
        "Usually a sleeping network card.\n\n1. Plug the laptop into mains power.\n"
        "2. Disable *Allow the computer to turn off this device* for the Wi-Fi adapter.\n"
        "3. Reconnect the VPN.\n\nStill dropping? Open a ticket with the time of each drop.",
    ),
    (
        "Printer offline or stuck: what to try",
        "en",
        "public",
        "Matériel",
        (),
        "Before opening a ticket:\n\n1. Check that the printer is on and has paper.\n"
        "2. In **Devices and printers**, choose *See what's printing* then "
        "*Cancel all documents*.\n3. Switch the printer off for 30 seconds.\n\n"
        "Still nothing? Open a ticket with the name on the printer's label.",
    ),
    (
        "Принтер не печатает: что проверить",
        "ru",
        "public",
        "Matériel",
        (),
        "1. Проверьте бумагу и картридж.\n2. Очистите очередь печати.\n"
        "3. Выключите принтер на 30 секунд.\n\nЕсли не помогло, создайте заявку.",
    ),
    (
        "Procédure interne : relancer le spouleur d'impression à distance",
        "fr",
        "internal",
        "Matériel",
        (),
        "Depuis la console d'administration : `sc \\\\POSTE stop spooler` puis "
        "`sc \\\\POSTE start spooler`. Noter l'intervention dans le ticket.",
    ),
]


# Translations: the article (by title) and the one it translates (the family's first).
TRANSLATIONS = {
    "Printer offline or stuck: what to try": "Imprimante hors ligne ou bloquée : que faire ?",
    "Принтер не печатает: что проверить": "Imprimante hors ligne ou bloquée : que faire ?",
}


async def load_articles(
    author_id: int, establishments: dict[str, int], categories: dict[str, Any]
) -> None:
    """Insert the demo articles, published, each with its first revision."""
    ids: dict[str, int] = {}
    for title, language, visibility, category, codes, body in ARTICLES:
        category_id = categories[category]["id"] if category in categories else None
        row = await KbArticle.insert(
            KbArticle(
                title=title,
                body=body,
                category=category_id,
                language=language,
                visibility=visibility,
                state="published",
                author=author_id,
                translation_of=ids.get(TRANSLATIONS.get(title, "")),
            )
        ).returning(KbArticle.id)
        article_id = ids[title] = row[0]["id"]
        await KbRevision.insert(
            KbRevision(article=article_id, number=1, title=title, body=body, author=author_id)
        )
        for code in codes:
            await KbArticleEstablishment.insert(
                KbArticleEstablishment(article=article_id, establishment=establishments[code])
            )
