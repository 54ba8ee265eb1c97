"""Demo canned replies: the local desk's everyday answers in French, English and Russian
(translations share a reference, so the picker offers each once, in the requester's
language), and one personal reply of the first-level technician. Fictional text."""

from __future__ import annotations

from typing import Any

from server.db.canned_tables import CannedReply

# (reference, language, title, body)
GROUP_REPLIES = [
    (
        "ack",
        "fr",
        "Accusé de réception",
        "Bonjour {requester},\n\nNous avons bien reçu votre demande {ticket_number} "
        "« {ticket_title} ». {technician} s'en occupe et revient vers vous rapidement.\n\n"
        "Suivi : {link}",
    ),
    (
        "ack",
        "en",
        "Acknowledgement",
        "Hello {requester},\n\nWe have received your request {ticket_number} "
        '"{ticket_title}". {technician} is looking into it and will get back to you soon.\n\n'
        "Follow it here: {link}",
    ),
    (
        "ack",
        "ru",
        "Подтверждение получения",
        "Здравствуйте, {requester}!\n\nМы получили вашу заявку {ticket_number} "
        "«{ticket_title}». {technician} уже занимается ею и скоро свяжется с вами.\n\n"
        "Ход работ: {link}",
    ),
    (
        "password",
        "fr",
        "Mot de passe réinitialisé",
        "Bonjour {requester},\n\nVotre mot de passe a été réinitialisé. Un mot de passe "
        "provisoire vous sera communiqué par téléphone ; il devra être changé à la première "
        "connexion.\n\n{technician}",
    ),
    (
        "password",
        "en",
        "Password reset",
        "Hello {requester},\n\nYour password has been reset. A temporary password will be "
        "given to you by phone; you will be asked to change it when you first sign in.\n\n"
        "{technician}",
    ),
    (
        "password",
        "ru",
        "Пароль сброшен",
        "Здравствуйте, {requester}!\n\nВаш пароль сброшен. Временный пароль вам сообщат по "
        "телефону; при первом входе его нужно будет сменить.\n\n{technician}",
    ),
    (
        "more-info",
        "fr",
        "Demande de précisions",
        "Bonjour {requester},\n\nPour avancer sur {ticket_number}, pouvez-vous nous indiquer "
        "le nom du poste (étiquette sur l'unité centrale) et l'heure à laquelle le problème "
        "est apparu ?\n\nMerci, {technician}",
    ),
    (
        "more-info",
        "en",
        "Asking for details",
        "Hello {requester},\n\nTo move forward on {ticket_number}, could you tell us the "
        "workstation name (label on the computer) and when the problem started?\n\n"
        "Thank you, {technician}",
    ),
]
PERSONAL_REPLY = (
    "fr",
    "Passage sur site",
    "Bonjour {requester},\n\nJe passe dans votre service aujourd'hui pour {ticket_number}. "
    "Merci de laisser le poste allumé.\n\n{technician}",
)


async def load_canned_replies(groups: dict[int, int], users: dict[str, dict[str, Any]]) -> None:
    local_desk = groups[1]
    for reference, language, title, body in GROUP_REPLIES:
        await CannedReply.insert(
            CannedReply(
                title=title, body=body, language=language, reference=reference, group=local_desk
            )
        )
    language, title, body = PERSONAL_REPLY
    await CannedReply.insert(
        CannedReply(
            title=title,
            body=body,
            language=language,
            owner=users["tech.n1@guichet.example"]["id"],
        )
    )
