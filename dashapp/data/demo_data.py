"""Deterministic demo database for a data/ML team, loadable into SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from dashapp.db import make_engine

log = logging.getLogger(__name__)

# Bump when the schema or the generated values change: existing demo files are rebuilt.
GENERATOR_VERSION = 3
CHUNK = 50_000
NULL = r"\N"  # COPY's NULL marker: keeps NULL apart from empty text
Row = tuple[object, ...]

metadata = MetaData()

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(60), nullable=False),
    Column("cost_center", String(12), nullable=False),
    Column("created_on", Date, nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id"), nullable=False),
    Column("username", String(40), nullable=False),
    Column("full_name", String(80), nullable=False),
    Column("email", String(120), nullable=False),
    Column("country", String(2), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("signup_date", Date, nullable=False),
    Column("last_login_at", DateTime),
)
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("size_mb", Numeric(12, 2), nullable=False),
    Column("is_public", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("description", Text),
)
experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("model", String(40), nullable=False),
    Column("learning_rate", Float, nullable=False),
    Column("batch_size", Integer, nullable=False),
    Column("epochs", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("accuracy", Numeric(6, 4)),
    Column("loss", Float),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("notes", Text),
)
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("experiment_id", Integer, ForeignKey("experiments.id")),
    Column("event_type", String(24), nullable=False),
    Column("country", String(2), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("cost_usd", Numeric(10, 2), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("message", Text),
)
customer_churn = Table(
    "customer_churn",
    metadata,
    Column("customer_id", Integer, primary_key=True),
    Column("region", String(20), nullable=False),
    Column("plan", String(12), nullable=False),
    Column("signup_date", Date, nullable=False),
    Column("tenure_months", Integer, nullable=False),
    Column("monthly_fee", Numeric(8, 2), nullable=False),
    Column("support_tickets", Integer, nullable=False),
    Column("avg_session_minutes", Float),
    Column("has_discount", Boolean, nullable=False),
    Column("lifetime_value", Numeric(10, 2), nullable=False),
    Column("churned", Boolean, nullable=False),
)

INDEXES = (
    Index("ix_events_occurred_at", events.c.occurred_at),
    Index("ix_events_user_id", events.c.user_id),
    Index("ix_events_event_type", events.c.event_type),
    Index("ix_events_duration_ms", events.c.duration_ms),
    Index("ix_experiments_started_at", experiments.c.started_at),
)

VIEW_NAME = "experiment_summary"
VIEW_SQL = (
    "CREATE VIEW experiment_summary AS "
    "SELECT model, COUNT(*) AS runs, "
    "SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded, "
    "AVG(accuracy) AS mean_accuracy, MIN(started_at) AS first_run, MAX(started_at) AS last_run "
    "FROM experiments GROUP BY model"
)

COUNTRIES = ("US", "DE", "FR", "GB", "IN", "JP", "BR", "CA", "NL", "SE", "PL", "ES")
FIRST: tuple[str, ...] = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Edsger",
    "Frances",
    "Guido",
)
FIRST += ("Hedy", "John", "Katherine", "Leslie", "Radia", "Sophie", "Tim", "Yann", "Zoë", "Émile")
LAST: tuple[str, ...] = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Dijkstra",
)
LAST += ("Allen", "van Rossum", "Lamarr", "McCarthy", "Johnson", "Lamport", "Perlman", "O'Neil")
MODELS = (
    "resnet18",
    "resnet50",
    "vit-small",
    "mlp",
    "xgboost",
    "lightgbm",
    "bert-base",
    "cnn-tiny",
)
EVENT_TYPES = ("login", "query", "train_start", "train_end", "export", "upload", "predict", "error")
EVENT_WEIGHTS = (5, 40, 6, 6, 4, 5, 30, 4)
MESSAGES = (
    None,
    None,
    None,
    "ok",
    "cache hit",
    "slow query (> 2 s)",
    'retried after "connection reset"',
    "quota: 80% used",
    "GPU memory 92% — consider a smaller batch",
)
START = datetime(2024, 1, 1)
EPOCH_DAY = date(2019, 1, 1)


def _iso(ts: datetime) -> str:
    """Timestamp in the text form SQLAlchemy uses for SQLite and PostgreSQL accepts."""
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def gen_teams(n: int = 12) -> Iterator[Row]:
    """Teams of the organisation."""
    names: tuple[str, ...] = (
        "Platform",
        "Vision",
        "NLP",
        "Forecasting",
        "Recommenders",
        "Data Eng",
        "MLOps",
    )
    names += ("Research", "Analytics", "Growth", "Risk", "Search")
    for i in range(1, n + 1):
        yield (
            i,
            names[(i - 1) % len(names)],
            f"CC-{1000 + i * 7}",
            str(EPOCH_DAY + timedelta(i * 90)),
        )


def gen_users(n: int, n_teams: int) -> Iterator[Row]:
    """People with logins; some inactive, some never logged in (NULL)."""
    rnd = random.Random(2)
    for i in range(1, n + 1):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        username = f"{first[0]}{last.split()[-1]}{i}".lower().replace("'", "")
        signup = EPOCH_DAY + timedelta(rnd.randrange(0, 1800))
        last_login = (
            None
            if rnd.random() < 0.08
            else _iso(START + timedelta(seconds=rnd.randrange(0, 300 * 86400)))
        )
        yield (
            i,
            rnd.randrange(1, n_teams + 1),
            username,
            f"{first} {last}",
            f"{username}@example.com",
            rnd.choice(COUNTRIES),
            rnd.random() > 0.1,
            str(signup),
            last_login,
        )


def gen_datasets(n: int, n_users: int) -> Iterator[Row]:
    """Datasets the team trains on."""
    rnd = random.Random(3)
    kinds = ("images", "clicks", "transactions", "sensor", "text", "audio", "tabular")
    for i in range(1, n + 1):
        rows = rnd.randrange(1_000, 50_000_000)
        yield (
            i,
            f"{rnd.choice(kinds)}-{2019 + i % 6}-v{i % 4 + 1}",
            rnd.randrange(1, n_users + 1),
            rows,
            round(rows * rnd.uniform(0.0001, 0.02), 2),
            rnd.random() < 0.3,
            _iso(START - timedelta(days=rnd.randrange(0, 900))),
            None if rnd.random() < 0.25 else f"Snapshot {i}; owner notes, cleaned for training",
        )


def gen_experiments(n: int, n_datasets: int, n_users: int) -> Iterator[Row]:
    """Training runs with hyper-parameters and outcomes (NULL while running or when failed)."""
    rnd = random.Random(4)
    for i in range(1, n + 1):
        status = rnd.choices(("succeeded", "failed", "running"), (80, 15, 5))[0]
        started = START + timedelta(seconds=rnd.randrange(0, 320 * 86400))
        acc = None if status != "succeeded" else round(rnd.betavariate(8, 2), 4)
        loss = None if status == "failed" else round(rnd.lognormvariate(-1.0, 0.6), 5)
        finished = (
            None
            if status == "running"
            else _iso(started + timedelta(minutes=rnd.randrange(2, 2000)))
        )
        yield (
            i,
            rnd.randrange(1, n_datasets + 1),
            rnd.randrange(1, n_users + 1),
            rnd.choice(MODELS),
            rnd.choice((1e-4, 3e-4, 1e-3, 3e-3, 1e-2)),
            rnd.choice((16, 32, 64, 128, 256)),
            rnd.randrange(1, 100),
            status,
            acc,
            loss,
            _iso(started),
            finished,
            None
            if rnd.random() < 0.7
            else rnd.choice(("baseline", "ablation: no dropout", "sweep #3")),
        )


def gen_events(n: int, n_users: int, n_experiments: int) -> Iterator[Row]:
    """The large table: one row per platform event, in time order."""
    rnd = random.Random(5)
    step = 320 * 86400 / n
    choices, randrange, rand, expo = rnd.choices, rnd.randrange, rnd.random, rnd.expovariate
    types = choices(EVENT_TYPES, EVENT_WEIGHTS, k=n)
    base = START.timestamp()
    fromts = datetime.fromtimestamp
    n_msg, n_c = len(MESSAGES), len(COUNTRIES)
    for i in range(n):
        et = types[i]
        ok = et != "error" and rand() > 0.02
        yield (
            i + 1,
            fromts(base + i * step + rand() * step).strftime("%Y-%m-%d %H:%M:%S"),
            randrange(1, n_users + 1),
            randrange(1, n_experiments + 1)
            if et in ("train_start", "train_end", "predict")
            else None,
            et,
            COUNTRIES[randrange(n_c)],
            int(expo(1 / 350)) + 1,
            round(expo(1 / 0.8), 2),
            ok,
            MESSAGES[randrange(n_msg)]
            if ok
            else "failed: " + ("timeout", "OOM", "bad input")[i % 3],
        )


def gen_customer_churn(n: int) -> Iterator[Row]:
    """A tabular ML dataset: churn label driven by the features, plus noise."""
    rnd = random.Random(6)
    regions = ("north", "south", "east", "west", "central")
    plans = (("basic", 9.99), ("standard", 19.99), ("pro", 49.99), ("enterprise", 199.0))
    for i in range(1, n + 1):
        plan, fee = plans[rnd.choices(range(4), (40, 35, 20, 5))[0]]
        tenure = rnd.randrange(1, 73)
        tickets = min(int(rnd.expovariate(1 / 2)), 30)
        session = None if rnd.random() < 0.05 else round(rnd.gammavariate(3, 6), 2)
        discount = rnd.random() < 0.3
        fee_paid = round(fee * (0.8 if discount else 1.0), 2)
        score = (
            0.9 * tickets - 0.06 * tenure + (0.8 if plan == "basic" else 0) - (session or 15) / 20
        )
        churned = score + rnd.gauss(0, 1) > 0.5
        yield (
            i,
            rnd.choice(regions),
            plan,
            str(EPOCH_DAY + timedelta(rnd.randrange(0, 2000))),
            tenure,
            fee_paid,
            tickets,
            session,
            discount,
            round(fee_paid * tenure * rnd.uniform(0.9, 1.1), 2),
            churned,
        )


@dataclass(frozen=True)
class DemoSizes:
    """Row counts of each demo table, derived from the size of the large table."""

    events: int = 1_000_000
    teams: int = 12
    users: int = 2_000
    datasets: int = 60
    experiments: int = 5_000
    customer_churn: int = 20_000


def table_rows(sizes: DemoSizes) -> list[tuple[Table, Callable[[], Iterator[Row]]]]:
    """Each demo table with the generator of its rows, in foreign-key order."""
    return [
        (teams, lambda: gen_teams(sizes.teams)),
        (users, lambda: gen_users(sizes.users, sizes.teams)),
        (datasets, lambda: gen_datasets(sizes.datasets, sizes.users)),
        (experiments, lambda: gen_experiments(sizes.experiments, sizes.datasets, sizes.users)),
        (events, lambda: gen_events(sizes.events, sizes.users, sizes.experiments)),
        (customer_churn, lambda: gen_customer_churn(sizes.customer_churn)),
    ]


def _chunks(rows: Iterator[Row], size: int = CHUNK) -> Iterator[list[Row]]:
    """Split a row stream into lists of at most ``size``."""
    buf: list[Row] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def build_sqlite(path: Path, sizes: DemoSizes) -> None:
    """Write the demo database to ``path`` (a new file) with the stdlib driver, fast."""
    dialect = make_engine("sqlite://").dialect
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for table in metadata.sorted_tables:
            con.execute(str(CreateTable(table).compile(dialect=dialect)))
        for table, gen in table_rows(sizes):
            marks = ",".join("?" * len(table.columns))
            sql = f'INSERT INTO "{table.name}" VALUES ({marks})'  # noqa: S608 - our own table
            for chunk in _chunks(gen()):
                con.executemany(sql, chunk)
        # Indexes after the rows: building them once is several times faster.
        for ix in INDEXES:
            con.execute(str(CreateIndex(ix).compile(dialect=dialect)))
        con.execute(VIEW_SQL)
        con.execute("ANALYZE")
        con.execute(f"PRAGMA user_version={GENERATOR_VERSION}")
        con.commit()
    finally:
        con.close()


def load_postgresql(url: str, sizes: DemoSizes, *, echo: Callable[[str], None] = log.info) -> None:
    """Replace the demo tables in a PostgreSQL database, streaming rows with COPY."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP VIEW IF EXISTS {VIEW_NAME}"))
            for table in reversed(metadata.sorted_tables):
                conn.execute(DropTable(table, if_exists=True))
            for table in metadata.sorted_tables:
                conn.execute(CreateTable(table))
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for table, gen in table_rows(sizes):
                t0 = time.monotonic()
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                copy_sql = (
                    f"COPY \"{table.name}\" ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                )
                for chunk in _chunks(gen(), 200_000):
                    buf = io.StringIO()
                    csv.writer(buf).writerows(
                        [tuple(NULL if v is None else v for v in row) for row in chunk]
                    )
                    buf.seek(0)
                    cur.copy_expert(copy_sql, buf)
                raw.commit()
                echo(f"  {table.name}: loaded in {time.monotonic() - t0:.1f} s")
            cur.close()
        finally:
            raw.close()
        with engine.begin() as conn:
            for ix in INDEXES:
                conn.execute(CreateIndex(ix))
            conn.execute(text(VIEW_SQL))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def sqlite_is_current(path: Path, sizes: DemoSizes) -> bool:
    """Whether ``path`` is a complete demo database of this generator version and size."""
    if not path.exists():
        return False
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version != GENERATOR_VERSION:
                return False
            return bool(con.execute("SELECT max(id) FROM events").fetchone()[0] == sizes.events)
        finally:
            con.close()
    except sqlite3.Error:
        return False


def ensure_sqlite(path: Path, sizes: DemoSizes, *, force: bool = False) -> bool:
    """Build the demo SQLite file unless a current one exists; safe across processes.

    Returns True when this call built it. Concurrent callers (gunicorn workers starting
    together) wait on a file lock; the file appears atomically by rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not force and sqlite_is_current(path, sizes):
        return False
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and sqlite_is_current(path, sizes):
            return False
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        t0 = time.monotonic()
        try:
            build_sqlite(tmp, sizes)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        log.info("demo database built at %s in %.1f s", path, time.monotonic() - t0)
        return True


def table_names() -> Sequence[str]:
    """Names of the demo tables and view."""
    return [t.name for t in metadata.sorted_tables] + [VIEW_NAME]
