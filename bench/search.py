"""Search latency benchmark: full-text search over 100,000 and 1,000,000 tickets.

For each engine (SQLite file, then a throwaway PostgreSQL cluster on loopback, started like
tests/pg_cluster.py does) this script

1. applies the real migrations (so the FTS5 triggers, tsvector triggers and GIN indexes are in
   place exactly as in production) and loads 30 establishments, 1 requester per 100 tickets,
   20 technicians, 20 categories;
2. bulk-loads tickets with French (60 %), English (25 %) and Russian (15 %) help-desk text and
   one follow-up per two tickets (20 % private notes), with ``executemany`` (SQLite) or
   ``COPY`` (PostgreSQL), through the triggers; sizes grow in place (100k, then 900k more);
3. measures ``server.db.search.search_tickets`` (the code behind /search, with highlights) for
   typical queries, as a requester (the access policy's filter applies) and as a technician,
   plus two baselines on the same data: the existing ticket-list text filter (LIKE, what
   /tickets?q= does) and a primary-key lookup;
4. prints one table (p50 / p95 in milliseconds) and PASS/FAIL for the target
   (p95 < 100 ms at 1,000,000 tickets on PostgreSQL).

    .venv/bin/python bench/search.py                                # both engines, 100k and 1M
    .venv/bin/python bench/search.py --sizes 20000 --engines sqlite # quick check
    .venv/bin/python bench/search.py --runs 50

Loopback only, temporary folders deleted on exit. Not a test: nothing asserts.
"""

# ruff: noqa: S106, S608 - throwaway accounts; SQL built from constant column lists
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ESTABLISHMENTS = 30
TECHNICIANS = 20
CATEGORIES = 20
BATCH = 20_000
TARGET_MS = 100.0


def log(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# --- Text -----------------------------------------------------------------------------------

FR = {
    "things": [
        "L'imprimante",
        "Le scanner",
        "Le poste de travail",
        "L'écran",
        "Le clavier",
        "Le lecteur de cartes Vitale",
        "La douchette code-barres",
        "Le téléphone",
        "Le badge",
        "L'ordinateur portable",
        "La borne wifi",
        "L'onduleur",
        "Le DPI",
        "Le logiciel de radiologie",
        "Le PACS",
        "La messagerie",
        "Le logiciel de pharmacie",
        "Le portail RH",
        "L'agenda des blocs",
        "Le logiciel de laboratoire",
        "Citrix",
        "Le VPN",
    ],
    "places": [
        "aux urgences",
        "au bloc opératoire",
        "à la pharmacie",
        "au laboratoire",
        "en cardiologie",
        "en pédiatrie",
        "à l'accueil",
        "en radiologie",
        "en maternité",
        "au service des admissions",
        "en réanimation",
        "en gériatrie",
    ],
    "problems": [
        "ne s'allume plus",
        "est bloqué",
        "affiche une erreur",
        "ne répond plus",
        "imprime des pages blanches",
        "est très lent",
        "ne se connecte pas au réseau",
        "reste figé au démarrage",
        "refuse mon mot de passe",
        "se ferme tout seul",
        "ne trouve plus les dossiers patients",
        "demande une mise à jour",
        "fait un bruit anormal",
    ],
    "sentences": [
        "Depuis ce matin, impossible de travailler normalement.",
        "Nous avons déjà redémarré le poste sans succès.",
        "Le problème touche plusieurs postes du service.",
        "Merci d'intervenir rapidement, l'activité est perturbée.",
        "Le message indique que le serveur est injoignable.",
        "Cela arrive surtout en fin de journée.",
        "Le câble réseau a été vérifié par l'équipe.",
        "Les collègues de nuit ont le même souci.",
    ],
    "notes": [
        "J'ai redémarré le spouleur d'impression, merci de confirmer.",
        "Pièce commandée, intervention prévue jeudi.",
        "Mise à jour du pilote effectuée à distance.",
        "Le mot de passe a été réinitialisé, voir avec le cadre.",
        "Ticket transmis à l'équipe réseau.",
    ],
}
EN = {
    "things": [
        "The printer",
        "The scanner",
        "The workstation",
        "The screen",
        "The keyboard",
        "The card reader",
        "The barcode scanner",
        "The phone",
        "The badge",
        "The laptop",
        "The wifi access point",
        "The UPS",
        "The EHR",
        "The radiology software",
        "The PACS",
        "The mailbox",
        "The pharmacy software",
        "The HR portal",
        "The VPN",
    ],
    "places": [
        "in the emergency department",
        "in the operating room",
        "at the pharmacy",
        "in the laboratory",
        "in cardiology",
        "in paediatrics",
        "at the front desk",
        "in radiology",
        "in the maternity ward",
        "in intensive care",
    ],
    "problems": [
        "does not turn on",
        "is stuck",
        "shows an error",
        "is not responding",
        "prints blank pages",
        "is very slow",
        "cannot connect to the network",
        "freezes at startup",
        "rejects my password",
        "keeps closing",
        "asks for an update",
    ],
    "sentences": [
        "Since this morning we cannot work normally.",
        "We already restarted the computer without success.",
        "Several workstations of the ward are affected.",
        "Please come quickly, patient care is slowed down.",
        "The message says the server is unreachable.",
        "It mostly happens at the end of the day.",
        "The night shift has the same issue.",
    ],
    "notes": [
        "Restarted the print spooler, please confirm.",
        "Part ordered, visit planned on Thursday.",
        "Driver updated remotely.",
        "Password reset, check with the head nurse.",
        "Escalated to the network team.",
    ],
}
RU = {
    "things": [
        "Принтер",
        "Сканер",
        "Рабочая станция",
        "Монитор",
        "Клавиатура",
        "Считыватель карт",
        "Сканер штрихкодов",
        "Телефон",
        "Пропуск",
        "Ноутбук",
        "Точка доступа wifi",
        "Медицинская информационная система",
        "Программа радиологии",
        "Почта",
        "VPN",
    ],
    "places": [
        "в приёмном отделении",
        "в операционной",
        "в аптеке",
        "в лаборатории",
        "в кардиологии",
        "в педиатрии",
        "в регистратуре",
        "в рентгенологии",
        "в реанимации",
    ],
    "problems": [
        "не включается",
        "завис",
        "показывает ошибку",
        "не отвечает",
        "печатает пустые листы",
        "очень медленно работает",
        "не подключается к сети",
        "не принимает пароль",
        "сам закрывается",
        "требует обновления",
    ],
    "sentences": [
        "С утра невозможно нормально работать.",
        "Мы уже перезагрузили компьютер, не помогло.",
        "Проблема затрагивает несколько рабочих мест отделения.",
        "Просим срочно помочь, работа с пациентами замедлена.",
        "Сообщение говорит, что сервер недоступен.",
        "Ночная смена сталкивается с тем же.",
    ],
    "notes": [
        "Перезапустил службу печати, подтвердите, пожалуйста.",
        "Деталь заказана, выезд в четверг.",
        "Драйвер обновлён удалённо.",
        "Пароль сброшен.",
        "Передано сетевой группе.",
    ],
}
LANGS = [(FR, 0.60), (EN, 0.25), (RU, 0.15)]
STATUSES = [
    ("new", 8),
    ("assigned", 10),
    ("planned", 3),
    ("pending", 4),
    ("resolved", 15),
    ("closed", 60),
]
PRIORITIES = ["very_high", "high", "medium", "low", "very_low"]


def ticket_text(rng: random.Random) -> tuple[str, str, dict[str, list[str]]]:
    lang = rng.choices([v for v, _ in LANGS], [w for _, w in LANGS])[0]
    title = (
        f"{rng.choice(lang['things'])} {rng.choice(lang['places'])} {rng.choice(lang['problems'])}"
    )
    sentences = rng.sample(lang["sentences"], rng.randint(1, 3))
    code = f"0x{rng.randrange(16**5):05X}"  # error codes: many distinct rare words
    body = f"{title}. {' '.join(sentences)} ({code})"
    return title[:200], body, lang


# --- Loading --------------------------------------------------------------------------------


async def seed_people(size: int) -> dict[str, Any]:
    from server.db.tables import Category, Establishment, User

    if await Establishment.count():
        requesters = await User.select(User.id, User.establishment).where(User.role == "requester")
        techs = await User.select(User.id).where(User.role == "technician")
        cats = await Category.select(Category.id)
        return {
            "requesters": [(r["id"], r["establishment"]) for r in requesters],
            "techs": [r["id"] for r in techs],
            "categories": [r["id"] for r in cats],
        }
    est_ids = []
    for i in range(ESTABLISHMENTS):
        parent = est_ids[i % 5] if i >= 5 else None
        row = await Establishment.insert(
            Establishment(name=f"Établissement {i}", code=f"E{i:02d}", parent=parent)
        ).returning(Establishment.id)
        est_ids.append(row[0]["id"])
    cats = []
    for i in range(CATEGORIES):
        row = await Category.insert(Category(name=f"Catégorie {i}")).returning(Category.id)
        cats.append(row[0]["id"])
    people = [
        User(
            email=f"tech{i}@bench.test",
            full_name=f"Tech {i}",
            role="technician",
            establishment=est_ids[0],
            password_hash="!",
        )
        for i in range(TECHNICIANS)
    ]
    n_requesters = max(200, 10_000)
    people += [
        User(
            email=f"req{i}@bench.test",
            full_name=f"Requester {i}",
            role="requester",
            establishment=est_ids[i % ESTABLISHMENTS],
            password_hash="!",
        )
        for i in range(n_requesters)
    ]
    for start in range(0, len(people), 1000):
        await User.insert(*people[start : start + 1000])
    return await seed_people(size)


def ticket_rows(start_id: int, count: int, seed: dict[str, Any], rng: random.Random):
    now = datetime.now(UTC)
    tickets, follow_ups = [], []
    for tid in range(start_id, start_id + count):
        title, body, lang = ticket_text(rng)
        requester, est = rng.choice(seed["requesters"])
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        priority = rng.choice(PRIORITIES)
        created = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
        assignee = None if status == "new" else rng.choice(seed["techs"])
        tickets.append(
            (
                tid,
                title,
                body,
                "incident",
                priority,
                PRIORITIES.index(priority) + 1,
                status,
                requester,
                est,
                rng.choice(seed["categories"]),
                assignee,
                rng.random() < 0.8,
                created,
            )
        )
        if rng.random() < 0.5:
            follow_ups.append(
                (
                    tid,
                    rng.choice(seed["techs"]),
                    rng.choice(lang["notes"]),
                    rng.random() < 0.2,
                    created + timedelta(hours=2),
                )
            )
    return tickets, follow_ups


TICKET_COLUMNS = [
    "id",
    "title",
    "description",
    "ticket_type",
    "priority",
    "priority_rank",
    "status",
    "requester",
    "establishment",
    "category",
    "assignee",
    "shared",
    "created_at",
]
FOLLOW_COLUMNS = ["ticket", "author", "text", "private", "created_at"]
DEFAULTS = {  # the other NOT NULL columns, as Piccolo would fill them
    "contact_name": "",
    "contact_phone": "",
    "environment": "production",
    "service_url": "",
    "notify": True,
    "solution": "",
    "version": 1,
}


async def load(engine_type: str, url: str, start: int, count: int, seed: dict[str, Any]) -> None:
    rng = random.Random(start)
    t0 = time.perf_counter()
    if engine_type == "sqlite":
        import sqlite3

        from server.db.sqlite_functions import GuichetConnection

        # The full-text triggers call Guichet's stemming function: open the file as it does.
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), factory=GuichetConnection)
        conn.execute("PRAGMA synchronous=OFF")
        cols = TICKET_COLUMNS + list(DEFAULTS) + ["updated_at"]
        t_sql = f"INSERT INTO ticket ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        f_cols = [*FOLLOW_COLUMNS, "minutes"]
        f_sql = (
            f"INSERT INTO follow_up ({', '.join(f_cols)}) VALUES ({', '.join('?' * len(f_cols))})"
        )
        for offset in range(0, count, BATCH):
            n = min(BATCH, count - offset)
            tickets, follow_ups = ticket_rows(start + offset, n, seed, rng)
            conn.executemany(
                t_sql,
                [(*t[:-1], str(t[-1]), *DEFAULTS.values(), str(t[-1])) for t in tickets],
            )
            conn.executemany(f_sql, [(*f[:-1], str(f[-1]), 0) for f in follow_ups])
            conn.commit()
            log(f"  sqlite: {start + offset + n - 1:,} tickets")
        conn.execute("ANALYZE")
        conn.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(url)
        cols = TICKET_COLUMNS + list(DEFAULTS) + ["updated_at"]
        for offset in range(0, count, BATCH * 5):
            n = min(BATCH * 5, count - offset)
            tickets, follow_ups = ticket_rows(start + offset, n, seed, rng)
            await conn.copy_records_to_table(
                "ticket",
                columns=cols,
                records=[(*t, *DEFAULTS.values(), t[-1]) for t in tickets],
            )
            await conn.copy_records_to_table(
                "follow_up",
                columns=[*FOLLOW_COLUMNS, "minutes"],
                records=[(*f, 0) for f in follow_ups],
            )
            log(f"  postgres: {start + offset + n - 1:,} tickets")
        await conn.execute("SELECT setval('ticket_id_seq', (SELECT max(id) FROM ticket))")
        await conn.execute("VACUUM ANALYZE ticket")
        await conn.execute("VACUUM ANALYZE follow_up")
        await conn.close()
    log(f"  loaded {count:,} tickets in {time.perf_counter() - t0:.0f} s")


# --- Measuring ------------------------------------------------------------------------------

QUERIES = [
    ("FR word", "imprimante"),
    ("FR two words", "imprimante urgences"),
    ("FR accents dropped", "ecran bloque"),
    ("FR suggestions while typing", "Mon imprimante ne marche pl"),
    ("EN two words", "printer blank"),
    ("RU word", "принтер"),
    ("RU other word form", "принтеры"),
    ("rare word", None),  # an error code present in one ticket
    ("ticket number", None),
]


async def measure(runs: int, size: int) -> list[dict[str, Any]]:
    from server.db.queries import TicketFilters, list_tickets
    from server.db.search import SearchFilters, search_tickets
    from server.db.tables import Ticket, User
    from server.domain.actors import Actor
    from server.domain.vocabulary import Role

    tech_row = (
        await User.select(User.id, User.establishment).where(User.role == "technician").first()
    )
    # A requester of a well-populated establishment (their colleagues' shared tickets count).
    req_row = await User.select(User.id, User.establishment).where(User.role == "requester").first()
    actors = {
        "requester": Actor(req_row["id"], Role.REQUESTER, req_row["establishment"]),
        "technician": Actor(tech_row["id"], Role.TECHNICIAN, tech_row["establishment"]),
    }
    sample = (
        await Ticket.select(Ticket.id, Ticket.description)
        .where(Ticket.requester == req_row["id"])
        .first()
    )
    rare = sample["description"].rsplit("(", 1)[1].rstrip(")")
    texts = dict(QUERIES)
    texts["rare word"] = rare
    texts["ticket number"] = f"#{sample['id']}"

    async def timed(fn, n: int) -> tuple[float, float, int]:
        await fn()  # warm-up
        samples = []
        count = 0
        for _ in range(n):
            t0 = time.perf_counter()
            count = await fn()
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
        return statistics.median(samples), p95, count

    results = []
    for who, actor in actors.items():
        for name, text in texts.items():
            # Suggestions run as the new-ticket form's panel does: any word, open tickets.
            suggest = "suggestions" in name
            filters = SearchFilters(
                text=text, any_word=suggest, open_only=suggest, follow_ups=not suggest
            )

            async def run(filters: SearchFilters = filters, actor: Actor = actor) -> int:
                return (await search_tickets(actor, filters)).total

            p50, p95, total = await timed(run, runs)
            results.append(
                {
                    "size": size,
                    "who": who,
                    "query": name,
                    "kind": "search",
                    "p50": p50,
                    "p95": p95,
                    "matches": total,
                }
            )
            log(f"  {who:10} {name:22} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({total:,})")

        async def like(actor: Actor = actor) -> int:
            page = await list_tickets(actor, TicketFilters(tab="all", text="imprimante"))
            return page.total

        p50, p95, total = await timed(like, max(3, runs // 5))
        results.append(
            {
                "size": size,
                "who": who,
                "query": "baseline: LIKE list filter 'imprimante'",
                "kind": "baseline",
                "p50": p50,
                "p95": p95,
                "matches": total,
            }
        )
        log(f"  {who:10} LIKE baseline          p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({total:,})")

    async def by_id() -> int:
        row = await Ticket.select(Ticket.id, Ticket.title).where(Ticket.id == sample["id"]).first()
        return 1 if row else 0

    p50, p95, _ = await timed(by_id, runs)
    results.append(
        {
            "size": size,
            "who": "-",
            "query": "baseline: ticket by primary key",
            "kind": "baseline",
            "p50": p50,
            "p95": p95,
            "matches": 1,
        }
    )
    return results


async def worker(args: argparse.Namespace) -> None:
    from server.cli import migrate
    from server.db.tables import Ticket

    url = os.environ["GUICHET_DATABASE_URL"]
    engine_type = "postgres" if url.startswith("postgres") else "sqlite"
    await migrate()
    seed = await seed_people(args.size)
    have = await Ticket.count()
    if have < args.size:
        await load(engine_type, url, have + 1, args.size - have, seed)
    # As in production: WAL on SQLite, a connection pool on PostgreSQL.
    from server.db import engine as engine_module

    await engine_module.start(pool=True)
    load_before = os.getloadavg()[0]
    results = await measure(args.runs, args.size)
    load_avg = f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    await engine_module.stop(pool=True)
    for r in results:
        r["engine"] = engine_type
        r["load"] = load_avg
    print(json.dumps(results))


# --- Orchestration --------------------------------------------------------------------------


def run_worker(url: str, size: int, runs: int, var: Path) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "GUICHET_DATABASE_URL": url,
        "GUICHET_VAR_DIR": str(var),
        "GUICHET_DB_POOL": "true",
        "GUICHET_SECRET_KEY": "bench",
    }
    out = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, __file__, "--worker", "--size", str(size), "--runs", str(runs)],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=3 * 3600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_table(results: list[dict[str, Any]]) -> None:
    sizes = sorted({r["size"] for r in results})
    engines = [e for e in ("sqlite", "postgres") if any(r["engine"] == e for r in results)]
    header = (
        "| who | query | "
        + " | ".join(f"{e} {s:,} p50 / p95 (matches)" for e in engines for s in sizes)
        + " |"
    )
    print(header)
    print("|" + "---|" * (2 + len(engines) * len(sizes)))
    keys = []
    for r in results:
        if (r["who"], r["query"]) not in keys:
            keys.append((r["who"], r["query"]))
    for who, query in keys:
        cells = []
        for e in engines:
            for s in sizes:
                hit = [
                    r
                    for r in results
                    if (r["who"], r["query"], r["engine"], r["size"]) == (who, query, e, s)
                ]
                cells.append(
                    f"{hit[0]['p50']:.1f} / {hit[0]['p95']:.1f} ({hit[0]['matches']:,})"
                    if hit
                    else "-"
                )
        print(f"| {who} | {query} | " + " | ".join(cells) + " |")
    print("\nLoad average (1 min) during each measurement, 2 shared cores:")
    for e in engines:
        for s in sizes:
            hit = [r for r in results if r["engine"] == e and r["size"] == s]
            if hit:
                print(f"  {e} {s:,}: {hit[0]['load']}")
    big = [
        r
        for r in results
        if r["engine"] == "postgres" and r["size"] >= 1_000_000 and r["kind"] == "search"
    ]
    if big:
        worst = max(r["p95"] for r in big)
        verdict = "PASS" if worst < TARGET_MS else "FAIL"
        print(
            f"\nTarget: search p95 < {TARGET_MS:.0f} ms at 1,000,000 tickets on PostgreSQL: "
            f"worst p95 {worst:.1f} ms -> {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args))
        return
    results: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="guichet-bench-search-"))
    try:
        for engine_type in args.engines:
            if engine_type == "sqlite":
                url = f"sqlite:///{tmp / 'bench.sqlite3'}"
                for size in sorted(args.sizes):
                    log(f"sqlite, {size:,} tickets")
                    results += run_worker(url, size, args.runs, tmp / "var")
            else:
                from tests.pg_cluster import create_database, throwaway_cluster

                with throwaway_cluster() as cluster:
                    url = create_database(cluster, "bench")
                    for size in sorted(args.sizes):
                        log(f"postgres, {size:,} tickets")
                        results += run_worker(url, size, args.runs, tmp / "var")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(results)


if __name__ == "__main__":
    main()
