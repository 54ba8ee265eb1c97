"""Database engines that use one connection per unit of work.

Piccolo's stock engines run every query outside a transaction on a fresh connection: a pool
checkout plus a ``RESET ALL`` on PostgreSQL, a new aiosqlite connection (a new thread) and a
``PRAGMA`` on SQLite. Here a *lease* (a request, a websocket render, a background pass) binds
one connection for its duration through a context variable, as Piccolo binds a transaction;
transactions opened inside a lease run on its connection (on SQLite with the pool on, on the
one writer connection).

On SQLite the statements of known cost run in place on the event loop's thread, the others
in a thread (see ``InlineConnection``). With the pool on (a running server), connections are
persistent: a few readers, one per unit of work at a time, and one writer that every
transaction takes in turn (first come, first served) rather than by contending for SQLite's
lock. Without the pool (tests, the command line) a lease opens its own connection and closes
it at the end.

Every statement is counted, so tests can hold a use case or a page to a budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

from server.db.writer_stats import WriterStats, report_on_signal
from server.db.writer_stats import log as writer_log

# How long a statement waits for another connection holding SQLite's lock, in milliseconds.
BUSY_TIMEOUT_MS = 30_000
# Persistent SQLite readers (one per request at a time) when the pool runs.
SQLITE_READERS = 8
PG_POOL_MIN, PG_POOL_MAX = 2, 20


class Lease:
    """One connection for one unit of work, taken at its first statement."""

    __slots__ = ("closed", "connection", "engine", "generation", "label", "statements")

    def __init__(self, engine: Any, label: str = "") -> None:
        self.engine = engine
        self.label = label
        self.connection: Any = None
        self.closed = False
        self.statements = 0
        # The service configuration's generation as this unit of work last read it
        # (``server.db.config_cache``); forgotten when a transaction begins.
        self.generation: int | None = None

    async def get(self) -> Any:
        if self.connection is None:
            self.connection = await self.engine._acquire_reader()
        return self.connection

    async def release(self) -> None:
        if self.closed:
            return
        self.closed = True
        for observer in _observers:
            observer.append((self.label, self.statements))
        connection, self.connection = self.connection, None
        if connection is not None:
            await self.engine._release_reader(connection)


# Lists that receive (label, statements) of every lease that ends, in any task or thread:
# tests hold pages and use cases served by a running application to a budget.
_observers: list[list[tuple[str, int]]] = []

_lease: ContextVar[Lease | None] = ContextVar("guichet_db_lease", default=None)
# Statements recorded by :func:`recording` in this context (tests, the debug log).
_recorded: ContextVar[list[str] | None] = ContextVar("guichet_db_recorded", default=None)


def current_lease() -> Lease | None:
    lease = _lease.get()
    # A task started inside a lease inherits the variable: once the lease ended, it is gone.
    return lease if lease is not None and not lease.closed else None


def _note(sql: str) -> None:
    lease = _lease.get()
    if lease is not None:
        lease.statements += 1
    recorded = _recorded.get()
    if recorded is not None:
        recorded.append(sql)


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the SQL of every statement run by this task (and tasks it starts)."""
    statements: list[str] = []
    token = _recorded.set(statements)
    try:
        yield statements
    finally:
        _recorded.reset(token)


@contextlib.contextmanager
def observing() -> Iterator[list[tuple[str, int]]]:
    """Collect ``(label, statements)`` of every lease that ends meanwhile (any thread)."""
    seen: list[tuple[str, int]] = []
    _observers.append(seen)
    try:
        yield seen
    finally:
        _observers.remove(seen)


@contextlib.asynccontextmanager
async def lease_for(engine: Any, label: str = "") -> AsyncIterator[Lease]:
    """Bind one connection to the enclosed work (nested leases reuse the outer one)."""
    outer = current_lease()
    if outer is not None:
        yield outer
        return
    lease = Lease(engine, label)
    token = _lease.set(lease)
    try:
        yield lease
    finally:
        _lease.reset(token)
        await lease.release()


def _forget_generation() -> None:
    lease = current_lease()
    if lease is not None:
        lease.generation = None


# A command that changes data, wherever it stands in a statement (after a WITH, too).
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


def _is_read(sql: str) -> bool:
    """Whether ``sql`` only reads. A read with common table expressions begins with WITH
    (the search's statement): taken for a write, it held SQLite's one writer and ran on
    the loop's thread, 5.6 ms at a million tickets with every request and writer waiting.
    One that names a writing command anywhere is still taken for a write."""
    head = sql.lstrip()[:7].upper()
    if head.startswith(("SELECT", "PRAGMA", "EXPLAIN")):
        return True
    return head.startswith("WITH") and not _WRITES.search(sql)


# -- PostgreSQL --------------------------------------------------------------------------------


class LeasedPostgresTransaction(PostgresTransaction):
    """A transaction on the lease's connection when there is one (released by the lease).

    Begun and ended by plain ``BEGIN`` / ``COMMIT`` rather than asyncpg's transaction object,
    so that the last statement of a change can travel with its ``COMMIT`` (:meth:`finish_with`):
    the counter rows every change adds to (``db.hot_rows``) are then locked for the time the
    server takes to commit, not for a round trip through a busy event loop. Written by a
    statement of their own, at 16 clients creating tickets each holder kept the rows one loop
    cycle (a few milliseconds) and the others queued behind it."""

    __slots__ = ("borrowed", "final")

    async def __aenter__(self) -> LeasedPostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.final = ""
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:
            # Not begun (connection lost, task cancelled): give the connection back.
            if not self.borrowed:
                await self.engine._release_reader(self.connection)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    def finish_with(self, sql: str) -> None:
        """Send ``sql`` (no parameters: a simple query) in the same message as the COMMIT."""
        self.final = f"{self.final}{sql};\n"

    async def begin(self) -> None:
        _note("BEGIN")
        _forget_generation()
        await self.connection.execute("BEGIN")

    async def commit(self) -> None:
        final, self.final = self.final, ""
        if final:
            _note(final)
        _note("COMMIT")
        try:
            await self.connection.execute(f"{final}COMMIT")
        except Exception:
            # The final statement failed: its transaction is aborted, not ended.
            with contextlib.suppress(Exception):
                if self.connection.is_in_transaction():
                    await self.connection.execute("ROLLBACK")
            self._rolled_back = True
            raise
        self._committed = True

    async def rollback(self) -> None:
        self.final = ""
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def get_connection(self) -> Any:
        lease = current_lease()
        self.borrowed = lease is not None
        if lease is not None:
            return await lease.get()
        return await self.engine._acquire_reader()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            _forget_generation()
            if not self.borrowed:
                await self.engine._release_reader(self.connection)
            self.engine.current_transaction.reset(self.context)
        return exception is None


# Backends (by process id) whose session settings a statement changed: the pool resets only
# those when they come back (see ``LeasedPostgresEngine._reset``).
_changed_sessions: set[int] = set()


class LeasedPostgresEngine(PostgresEngine):
    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(
            min_size=PG_POOL_MIN, max_size=PG_POOL_MAX, reset=self._reset, **kwargs
        )

    @staticmethod
    async def _reset(connection: Any) -> None:
        """What the pool does to a connection it gets back, after asyncpg has rolled back
        any open transaction: reset the settings if a statement changed them.

        asyncpg's own reset (advisory locks, cursors, LISTEN, settings: four commands) is a
        round trip on every request's way to its response; Guichet's pooled connections take
        no advisory lock, open no cursor and listen on nothing (the event bus has its own
        connection), and change a setting only through ``SET`` (noted by ``_fetch``)."""
        pid = connection.get_server_pid()
        if pid in _changed_sessions:
            await connection.execute("RESET ALL")
            _changed_sessions.discard(pid)

    async def _acquire_reader(self) -> Any:
        if self.pool:
            return await self.pool.acquire()
        return await self.get_new_connection()

    async def _release_reader(self, connection: Any) -> None:
        if self.pool:
            await self.pool.release(connection)
        else:
            await connection.close()

    async def _fetch(self, query: str, args: list[Any]) -> Any:
        _note(query)
        transaction = self.current_transaction.get()
        lease = current_lease()
        if transaction:
            connection = transaction.connection
        elif lease is not None:
            connection = await lease.get()
        else:
            connection = await self._acquire_reader()
        try:
            if query[:4].upper() == "SET ":  # a SET without LOCAL outlives its transaction
                _changed_sessions.add(connection.get_server_pid())
            return await connection.fetch(query, *args)
        finally:
            if not transaction and lease is None:
                await self._release_reader(connection)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        query, args = querystring.compile_string(engine_type=self.engine_type)
        return await self._fetch(query, list(args))

    async def run_sql(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        """Compiled SQL (``server.db.prepared``), rows as dicts like Piccolo's selects."""
        return [dict(row) for row in await self._fetch(sql, args)]

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        return await self._fetch(ddl, [])

    def transaction(self, allow_nested: bool = True) -> LeasedPostgresTransaction:
        return LeasedPostgresTransaction(engine=self, allow_nested=allow_nested)

    @contextlib.asynccontextmanager
    async def generic_plans(self) -> AsyncIterator[None]:
        """The enclosed statements of this lease run their prepared statement's generic plan,
        planned once per connection, rather than one planned again for each run's values.

        PostgreSQL keeps planning anew while its guess for the generic plan is dearer than
        the custom plans' average: a technician's search statement was planned at every run
        (1.4 ms of its 7). Only for statements written to be safe whatever the values (the
        row counts they need are constants, see ``server.db.search``), which PostgreSQL
        may switch to the generic plan anyway after five runs. Outside a lease, or inside a
        transaction, nothing changes (the setting would reach another connection, or
        outlive a rollback); the pool resets the settings of a connection that comes back
        without its RESET."""
        lease = current_lease()
        if lease is None or self.current_transaction.get() is not None:
            yield
            return
        connection = await lease.get()
        _note("SET plan_cache_mode")
        # Noted first: should the RESET below never run (cancelled), the pool resets it.
        _changed_sessions.add(connection.get_server_pid())
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        try:
            yield
        finally:
            _note("RESET plan_cache_mode")
            await connection.execute("RESET plan_cache_mode")
            _changed_sessions.discard(connection.get_server_pid())


# -- SQLite ------------------------------------------------------------------------------------


class InlineConnection:
    """A sqlite3 connection used from the event loop's own thread.

    An indexed statement takes tens of microseconds; handing it to a thread and back (as
    aiosqlite does) costs two context switches, milliseconds on a busy machine, for each of
    the twenty-odd statements of a request. So the statements of known cost run in place: those
    of a write transaction (short, indexed, and the sooner done the sooner the next writer
    goes) and the compiled lookups of ``server.db.prepared``. The others run in a thread, the
    loop serving other requests meanwhile: reads of unknown cost (a page's query may scan),
    and what waits for the disk (COMMIT, a write outside a transaction: the WAL's fsync).

    The connection never waits for SQLite's lock in place (``busy_timeout`` 0): a statement
    that may wait (``BEGIN``, or one outside a transaction) is retried after an asynchronous
    pause, so the holder of the lock, perhaps another request of this loop, can finish.
    """

    __slots__ = ("_conn", "commits_in_place")

    def __init__(self, connection_kwargs: dict[str, Any]) -> None:
        # The pool's writer commits in place: see LeasedSQLiteEngine.start_connection_pool.
        self.commits_in_place = False
        self._conn = sqlite3.connect(
            **{**connection_kwargs, "timeout": 0, "check_same_thread": False}
        )
        self._conn.row_factory = dict_factory
        self._conn.execute("PRAGMA foreign_keys = 1")

    async def execute(
        self, sql: str, args: Any = (), *, thread: bool = False
    ) -> list[dict[str, Any]]:
        """Run ``sql``; in a thread when ``thread`` (a read of unknown cost) or when it waits
        for the disk. Nobody else uses the connection meanwhile: a lease or the writer's lock
        holds it."""
        head = sql.lstrip()[:6].upper()
        begins = head.startswith("BEGIN")
        in_transaction = self._conn.in_transaction
        # What waits for the disk: a COMMIT, or a write outside a transaction (it commits).
        commits = head == "COMMIT" or not (in_transaction or begins or _is_read(sql))
        syncs = thread or (commits and not self.commits_in_place)
        # A COMMIT refused as busy leaves the transaction open and may be retried (SQLite's
        # documented behaviour): without WAL it waits for readers to finish.
        may_wait = not in_transaction or begins or head == "COMMIT"
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = 0.001
        while True:
            try:
                if syncs:
                    return await self._in_thread(sql, args)
                return self._fetch(sql, args)
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not (busy and may_wait) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _fetch(self, sql: str, args: Any) -> list[dict[str, Any]]:
        return self._conn.execute(sql, args).fetchall()

    async def _in_thread(self, sql: str, args: Any) -> list[dict[str, Any]]:
        done = asyncio.get_running_loop().run_in_executor(None, self._fetch, sql, args)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            # The statement goes on in its thread: nobody may use or close the connection
            # (a rollback, the end of a lease) before it is over.
            await asyncio.wait([done])
            raise

    async def close(self) -> None:
        self._conn.close()


class LeasedSQLiteTransaction(SQLiteTransaction):
    """With the pool on, every transaction takes the one writer connection in turn."""

    __slots__ = ("borrowed", "holds_writer")

    async def get_connection(self) -> Any:
        engine: LeasedSQLiteEngine = self.engine  # type: ignore[assignment]
        self.borrowed = self.holds_writer = False
        if engine.pooled:
            # Every transaction is a potential writer: a deferred one that writes later
            # would fail at once on a stale snapshot (SQLITE_BUSY_SNAPSHOT).
            self.holds_writer = True
            return await engine._acquire_writer()
        lease = current_lease()
        if lease is not None:
            self.borrowed = True
            return await lease.get()
        return engine._open()

    async def __aenter__(self) -> LeasedSQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:
            # Not begun (lock wait timed out, task cancelled): give back what was taken.
            await self._give_back()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def begin(self) -> None:
        _note(f"BEGIN {self.transaction_type.value}")
        _forget_generation()
        await self.connection.execute(f"BEGIN {self.transaction_type.value}")

    async def _give_back(self) -> None:
        engine: LeasedSQLiteEngine = self.engine  # type: ignore[assignment]
        if self.holds_writer:
            engine._release_writer()
        elif not self.borrowed:
            await self.connection.close()

    async def commit(self) -> None:
        _note("COMMIT")
        await super().commit()

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        engine: LeasedSQLiteEngine = self.engine  # type: ignore[assignment]
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            _forget_generation()
            await self._give_back()
            engine.current_transaction.reset(self.context)
        return exception is None


class LeasedSQLiteEngine(SQLiteEngine):
    """SQLite in WAL mode. With the pool on (a running server): a few persistent reader
    connections, one per unit of work at a time, and one writer connection that transactions
    take in turn, first come, first served, instead of contending for SQLite's lock. Without
    it, a unit of work opens its own connection."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._readers: asyncio.Queue[InlineConnection] | None = None
        self._all_readers: list[InlineConnection] = []
        self._writer: InlineConnection | None = None
        self._writer_lock: asyncio.Lock | None = None
        self.writer_stats = WriterStats()
        self._held_since = 0.0

    @property
    def pooled(self) -> bool:
        return self._writer is not None

    def _open(self) -> InlineConnection:
        return InlineConnection(self.connection_kwargs)

    async def get_connection(self) -> aiosqlite.Connection:
        # Piccolo's own callers (batch queries) want an aiosqlite connection they close.
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def start_connection_pool(self, readers: int = SQLITE_READERS) -> None:
        if self.pooled:
            return
        writer = self._open()
        await writer.execute("PRAGMA journal_mode=WAL")
        # Every write transaction holds the one writer until its COMMIT returns. A COMMIT in
        # a thread hands back to the loop, which resumes the transaction (and only then wakes
        # the next writer) after every callback already queued: with a dozen requests in
        # flight the writer stayed held 10-15 ms per transaction, 3-4 times its own work
        # (bench/writes.py's writer-lock figures). In place, the loop waits for the WAL's
        # fsync instead (about half a millisecond), and writers follow each other at once.
        # The same for a lone write (the mail dispatcher's stamps): it commits as it runs.
        writer.commits_in_place = True
        self._readers = asyncio.Queue()
        self._all_readers = [self._open() for _ in range(readers)]
        for reader in self._all_readers:
            self._readers.put_nowait(reader)
        self._writer_lock = asyncio.Lock()
        self._writer = writer
        report_on_signal(self.writer_stats)

    async def close_connection_pool(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        assert self._writer_lock is not None
        async with self._writer_lock:  # let the transaction in progress finish
            await writer.close()
        if self.writer_stats.count:
            writer_log.info("%s", self.writer_stats.summary())
        for reader in self._all_readers:
            await reader.close()
        self._all_readers, self._readers = [], None

    async def _acquire_reader(self) -> InlineConnection:
        if self._readers is not None:
            return await self._readers.get()
        return self._open()

    async def _release_reader(self, connection: InlineConnection) -> None:
        if self._readers is not None and connection in self._all_readers:
            self._readers.put_nowait(connection)
        else:
            await connection.close()

    async def _acquire_writer(self) -> InlineConnection:
        assert self._writer_lock is not None and self._writer is not None
        lock = self._writer_lock
        asked = time.perf_counter()
        ahead = len(getattr(lock, "_waiters", None) or ()) + lock.locked()
        await lock.acquire()
        self._held_since = time.perf_counter()
        self.writer_stats.waited(self._held_since - asked, ahead)
        return self._writer

    def _release_writer(self) -> None:
        assert self._writer_lock is not None
        self.writer_stats.held(time.perf_counter() - self._held_since)
        self._writer_lock.release()

    async def _run(self, query: str, args: list[Any], known_cost: bool = False) -> Any:
        _note(query)
        transaction = self.current_transaction.get()
        if transaction:
            return await transaction.connection.execute(query, args)
        if self.pooled and not _is_read(query):
            # A lone write is a transaction of its own: it waits for the writer like others.
            connection = await self._acquire_writer()
            try:
                return await connection.execute(query, args)
            finally:
                self._release_writer()
        lease = current_lease()
        if lease is not None:
            return await (await lease.get()).execute(query, args, thread=not known_cost)
        connection = await self._acquire_reader()
        try:
            return await connection.execute(query, args, thread=not known_cost)
        finally:
            await self._release_reader(connection)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        query, args = querystring.compile_string(engine_type=self.engine_type)
        return await self._run(query, list(args))

    async def run_sql(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        """Compiled SQL (``server.db.prepared``), rows as dicts like Piccolo's selects:
        indexed lookups, run in place."""
        return await self._run(sql, args, known_cost=True)

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        return await self._run(ddl, [])

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> LeasedSQLiteTransaction:
        return LeasedSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


def sqlite_engine(path: str, **connect: Any) -> LeasedSQLiteEngine:
    # timeout: how long the aiosqlite connections of Piccolo's batch queries wait for the
    # lock (ours never wait in place; see InlineConnection). ``connect`` goes to every
    # sqlite3.connect (e.g. the connection factory that registers SQL functions).
    return LeasedSQLiteEngine(path=path, timeout=BUSY_TIMEOUT_MS / 1000, **connect)


# No JIT compilation: a statement PostgreSQL guesses costly (over ``jit_above_cost``) is
# compiled before it runs, 40-50 ms, when every statement of Guichet reads a bounded number
# of rows in a few milliseconds. A requester's search at a million tickets, guessed at
# 102,000 (its parts' LIMITs cut the real work short), took 51 ms, 47 of them compiling.
POSTGRES_SETTINGS = {"jit": "off"}


def postgres_engine(dsn: str) -> LeasedPostgresEngine:
    return LeasedPostgresEngine(
        config={"dsn": dsn, "server_settings": POSTGRES_SETTINGS}, log_queries=False
    )


@contextlib.asynccontextmanager
async def own_lease(engine: Any, label: str = "") -> AsyncIterator[Lease]:
    """A connection of its own, even inside another lease: for work that others share and
    that may outlive the request that started it (a shared board render)."""
    token = _lease.set(None)
    try:
        async with lease_for(engine, label) as lease:
            yield lease
    finally:
        _lease.reset(token)
