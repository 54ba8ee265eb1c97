"""Pure rules for received mail: reply addresses, machine-written mail, trimming quotes."""

from __future__ import annotations

import pytest

from server.domain.inbound_mail import html_to_text, is_automatic, subject_to_title, trim_reply
from server.domain.notifications import Audience, Kind, recipients
from server.domain.reply_address import ReplyToken, reply_address, token_part, verify

SECRET = "unit-secret"


def test_a_reply_address_names_its_ticket_and_user_and_verifies() -> None:
    address = reply_address(SECRET, "desk@guichet.test", 42, 7)
    assert address.startswith("desk+42.7.") and address.endswith("@guichet.test")
    assert verify(SECRET, address) == ReplyToken(ticket_id=42, user_id=7)
    assert verify(SECRET, f"Guichet <{address}>".split("<")[1]) == ReplyToken(42, 7)
    # Case is not significant in the mac (some relays fold it).
    assert verify(SECRET, address.upper().replace("@GUICHET.TEST", "@guichet.test")) == (
        ReplyToken(42, 7)
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.replace("desk+42.", "desk+43."),  # another ticket, same mac
        lambda a: a.replace(".7.", ".8."),  # another user
        lambda a: a[: a.index("@") - 1] + ("0" if a[a.index("@") - 1] != "0" else "1")
        + a[a.index("@"):],  # one character of the mac
        lambda a: a.split(".")[0] + ".7@guichet.test",  # no mac
        lambda a: "desk@guichet.test",  # no token at all
    ],
)
def test_a_forged_reply_address_does_not_verify(change) -> None:
    address = reply_address(SECRET, "desk@guichet.test", 42, 7)
    assert verify(SECRET, change(address)) is None


def test_another_secret_does_not_verify_and_plain_addresses_carry_no_token() -> None:
    address = reply_address(SECRET, "desk@guichet.test", 1, 2)
    assert verify("other", address) is None
    assert token_part("desk@guichet.test") is None
    assert token_part(address) is not None


def test_mail_written_by_machines_is_recognised() -> None:
    person = {"from": "alice@chu-a.test", "subject": "Imprimante"}
    assert is_automatic(person, "alice@chu-a.test") is None
    assert is_automatic({**person, "auto-submitted": "no"}, "alice@chu-a.test") is None
    assert is_automatic({**person, "auto-submitted": "auto-replied"}, "a@x") == "auto-submitted"
    assert is_automatic({**person, "precedence": "bulk"}, "a@x") == "precedence"
    assert is_automatic({**person, "precedence": "junk"}, "a@x") == "precedence"
    assert is_automatic({**person, "precedence": "list"}, "a@x") == "precedence"
    assert is_automatic({**person, "x-autoreply": "yes"}, "a@x") == "auto-reply header"
    assert is_automatic(person, "") == "bounce"
    assert is_automatic(person, "<>") == "bounce"
    assert is_automatic(person, "MAILER-DAEMON@relay.test") == "bounce"
    assert is_automatic({**person, "from": "Mail Delivery <mailer-daemon@x>"}, "a@x") == "bounce"
    assert is_automatic(person, "a@x", own_message_ids=["<outbox-1.2@g>"]) == "own message"


def test_quoted_history_and_signatures_are_trimmed() -> None:
    english = "Still broken.\n\nOn Mon, 3 Nov 2026 at 10:02, Guichet <desk@g.test> wrote:\n> old\n"
    assert trim_reply(english) == "Still broken."
    french = (
        "Toujours en panne.\r\n\r\n"
        "Le lun. 3 nov. 2026 à 10:02, Guichet <desk@g.test> a écrit :\r\n> ancien"
    )
    assert trim_reply(french) == "Toujours en panne."
    wrapped = "Merci\n\nLe lun. 3 nov. 2026 à 10:02, Guichet\n<desk@g.test> a écrit :\n> x"
    assert trim_reply(wrapped) == "Merci"
    outlook = "Done.\n\n-----Original Message-----\nFrom: Guichet\nSubject: x"
    assert trim_reply(outlook) == "Done."
    russian = (
        "Не работает.\n\n3 нояб. 2026 г., в 10:02, Guichet <desk@g.test> написал(а):\n> старое"
    )
    assert trim_reply(russian) == "Не работает."
    signature = "Merci !\n-- \nDr Jean Martin\nService de radiologie"
    assert trim_reply(signature) == "Merci !"
    inline = "> what you said\nMy answer\n> more quote\nAnd more"
    assert trim_reply(inline) == "My answer\nAnd more"
    # A person's text that merely mentions writing is kept.
    assert trim_reply("I wrote: the printer is off") == "I wrote: the printer is off"


def test_titles_from_subjects_and_text_from_html() -> None:
    assert subject_to_title("RE: TR: Fwd:  Scanner\n en panne") == "Scanner en panne"
    assert subject_to_title("x" * 300) == "x" * 200
    html = "<html><head><style>p{}</style></head><p>Bonjour&nbsp;!<br>Ça marche</p></html>"
    assert html_to_text(html) == "Bonjour\xa0!\nÇa marche"


def test_recipients_are_limited_to_who_may_see_the_ticket() -> None:
    facts = Audience(
        requester_id=1,
        requester_wants_mail=True,
        assignee_id=2,
        watcher_ids=frozenset({3, 4}),
        staff_ids=frozenset({2}),
        viewer_ids=frozenset({1, 2, 3}),  # 4 is a watcher who lost access
    )
    assert recipients(Kind.FOLLOW_UP, facts, 2) == {1, 3}
    assert recipients(Kind.FOLLOW_UP, facts, 1, private=True) == {2}
    assert recipients(Kind.FOLLOW_UP, facts, 2, private=True) == set()
