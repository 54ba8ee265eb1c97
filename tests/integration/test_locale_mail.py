"""Each recipient reads mails in their own language, whoever wrote: a Russian requester
answered by a French technician gets Russian mails (real SMTP on loopback)."""

from __future__ import annotations

from server.db.tables import User
from server.domain.forms import NewFollowUp
from server.services import tickets
from tests import factories
from tests.integration.test_notifications import (  # noqa: F401 (fixture)
    SmtpServer,
    dispatcher,
    drain,
    smtp,
    text_of,
)


async def test_russian_requester_french_technician(smtp: SmtpServer) -> None:  # noqa: F811
    w = await factories.world()
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    await User.update({User.locale: "fr"}).where(User.id == w.tech.id)
    ticket_id = await factories.ticket(
        w.requester_a, title="ИЭМК не отвечает", category_id=str(w.category_id)
    )
    d = dispatcher(smtp, mail={"include_details": True})
    await drain(d)
    [ack] = smtp.inbox.to("alice@chu-a.test")
    assert ack["Content-Language"] == "ru"
    assert ack["Subject"].endswith("ИЭМК не отвечает — Новая")
    assert "Мы получили ваше обращение" in text_of(ack)
    smtp.inbox.clear()

    await tickets.take(w.tech, ticket_id, 1)
    await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Redémarrez le poste", False, 5))
    await drain(d)
    mails = smtp.inbox.to("alice@chu-a.test")
    assert len(mails) == 2  # taken in charge, then the follow-up
    assert all(m["Content-Language"] == "ru" for m in mails)
    assert "Théo Tech принял(а) заявку в работу" in text_of(mails[0])
    assert mails[-1]["Subject"].endswith("ИЭМК не отвечает — В работе (назначена)")
    assert "Théo Tech добавил(а) комментарий к заявке." in text_of(mails[-1])
    assert smtp.inbox.to("tech@desk.test") == []


async def test_redaction_markers_in_mails_speak_the_recipient_language(
    smtp: SmtpServer,  # noqa: F811
) -> None:
    w = await factories.world()
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    await factories.ticket(w.requester_a, title="Полис [OMS] не найден")
    await drain(dispatcher(smtp))
    [ack] = smtp.inbox.to("alice@chu-a.test")
    assert "Полис [номер полиса ОМС] не найден" in ack["Subject"]


def test_a_rendered_mail_parses_back_whole_in_each_language() -> None:
    # Built with the classic MIME classes (for speed): what a mail client reads back must be
    # exactly what was rendered, names and subjects in any script included.
    from datetime import UTC, datetime
    from email import policy
    from email.parser import BytesParser

    from server.domain.notifications import Kind
    from server.domain.vocabulary import Status
    from server.services.mail_render import MailFacts, render

    for locale, name, title in (
        ("fr", "Élodie Martin", "Imprimante d'étiquettes bloquée au bloc"),
        ("ru", "Иванова Мария", "ИЭМК не отвечает в приёмном отделении, карты не открываются"),
        ("en", "Pat O'Brien", "Badge reader & door <3>"),
    ):
        facts = MailFacts(
            outbox_id=7,
            kind=Kind.CREATED,
            ticket_id=4321,
            title=title,
            status=Status.NEW,
            establishment_code="CHU-N",
            to_address="someone@example.org",
            to_name=name,
            locale=locale,
            actor_name=name,
            created_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
            details="Ligne 1\nЛиния 2 & <b>",
        )
        raw = render(facts, base_url="https://guichet.example", sender="desk@example.org")
        mail = BytesParser(policy=policy.default).parsebytes(raw.as_bytes())
        assert mail["Subject"].startswith(f"[Guichet #4321 CHU-N] {title} — ")
        assert mail["To"].addresses[0].display_name == name
        assert mail["Message-ID"] == "<outbox-7.4321@guichet.example>"
        assert mail["Content-Language"] == locale
        assert mail.get_all("MIME-Version") == ["1.0"]
        text = mail.get_body(preferencelist=("plain",)).get_content()
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert "Линия 2 & <b>" in text and "Линия 2 &amp; &lt;b&gt;" in html
