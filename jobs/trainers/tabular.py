"""Tabular model: an MLP trained on rows of a table of the browsed database (a grid view)."""

from __future__ import annotations

import json
import math
import random
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from jobs.figures import confusion_matrix
from jobs.params import CHOICE, FLOAT, INT, TEXT, Param
from jobs.trainer import Trainer

if TYPE_CHECKING:
    from dashapp.data.catalog import Catalog, TableInfo
    from jobs.reporter import Reporter

USABLE = ("number", "bool", "text")
MAX_CLASSES = 20
TOP_CATEGORIES = 10


def _columns(text: str) -> list[str]:
    """A comma-separated list of column names."""
    return [c.strip() for c in text.split(",") if c.strip()]


def resolve(info: TableInfo, p: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The feature columns to use, and a message per bad field."""
    errors: dict[str, str] = {}
    names = [c.name for c in info.columns]
    target = info.column(p["target"])
    if target is None:
        errors["target"] = "choose a target column: " + ", ".join(names)[:300]
    elif target.kind not in USABLE:
        errors["target"] = f"{target.name} is a {target.kind} column; use a number, boolean or text"
    wanted = _columns(p["features"])
    if wanted:
        unknown = [c for c in wanted if info.column(c) is None]
        if unknown:
            errors["features"] = "no such column: " + ", ".join(unknown)[:200]
        features = wanted
    else:
        features = [
            c.name for c in info.columns if c.kind in ("number", "bool") and not c.primary_key
        ]
    features = [f for f in features if f != p["target"]]
    bad = [f for f in features if (col := info.column(f)) is not None and col.kind not in USABLE]
    if bad:
        errors["features"] = "cannot use dates, JSON or binary: " + ", ".join(bad)
    if not features and "features" not in errors:
        errors["features"] = "no usable feature columns: name some (comma-separated)"
    return features, errors


def check(p: dict[str, Any], catalog: Catalog | None) -> dict[str, str]:
    """Validate the table, columns and filter against the browsed database, before queueing."""
    from dashapp.data.catalog import CatalogError, DataUnavailable
    from dashapp.data.filters import FilterBuilder, GridRequestError

    if catalog is None:
        return {"table": "no database to read from"}
    try:
        info = catalog.table(p["table"])
    except (CatalogError, DataUnavailable) as exc:
        return {"table": str(exc)}
    _, errors = resolve(info, p)
    try:
        FilterBuilder(info, catalog.dialect).where(json.loads(p["filter"] or "{}"))
    except (ValueError, GridRequestError) as exc:
        errors["filter"] = f"not a grid filter: {exc}"
    return errors


def load_rows(
    p: dict[str, Any], database_url: str
) -> tuple[TableInfo, list[dict[str, Any]], list[str]]:
    """The view's rows (its filter, at most ``max_rows``) and the feature columns."""
    from dashapp.data.catalog import Catalog
    from dashapp.data.grid_query import GridView, select_view
    from dashapp.db import make_engine

    engine = make_engine(database_url, read_only=True)
    try:
        catalog = Catalog(engine)
        info = catalog.table(p["table"])
        features, errors = resolve(info, p)
        if errors:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in errors.items()))
        view = GridView(json.loads(p["filter"] or "{}"), ())
        stmt = select_view(info, view, catalog.dialect).limit(p["max_rows"])
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()
    return info, rows, features


def encode(
    info: TableInfo, rows: list[dict[str, Any]], features: list[str]
) -> tuple[list[list[float]], list[str]]:
    """Rows as standardised numbers: numbers and booleans as is, text one-hot (top values)."""
    columns: list[tuple[str, Any]] = []
    for name in features:
        col = info.column(name)
        if col is not None and col.kind == "text":
            counts: dict[Any, int] = {}
            for r in rows:
                counts[r[name]] = counts.get(r[name], 0) + 1
            for value in sorted(counts, key=lambda v: -counts[v])[:TOP_CATEGORIES]:
                columns.append((f"{name}={value}", lambda r, n=name, v=value: float(r[n] == v)))
        else:
            columns.append((name, lambda r, n=name: float(r[n]) if r[n] is not None else math.nan))
    matrix = [[fn(r) for _, fn in columns] for r in rows]
    for j in range(len(columns)):
        vals = [row[j] for row in matrix if not math.isnan(row[j])]
        mean = sum(vals) / len(vals) if vals else 0.0
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals)) if vals else 1.0
        for row in matrix:
            row[j] = 0.0 if math.isnan(row[j]) else (row[j] - mean) / (std or 1.0)
    return matrix, [name for name, _ in columns]


def scatter(actual: list[float], predicted: list[float], title: str) -> Image.Image:
    """Predicted against actual values, with the diagonal of perfect predictions."""
    size, pad = 420, 50
    img = Image.new("RGB", (size + pad + 10, size + pad + 30), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    lo, hi = min(actual + predicted), max(actual + predicted)
    span = (hi - lo) or 1.0

    def xy(a: float, b: float) -> tuple[float, float]:
        return pad + (a - lo) / span * size, 10 + size - (b - lo) / span * size

    d.rectangle([pad, 10, pad + size, 10 + size], outline=(180, 180, 180))
    d.line([xy(lo, lo), xy(hi, hi)], fill=(220, 53, 69), width=1)
    for a, b in zip(actual, predicted, strict=True):
        x, y = xy(a, b)
        d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(13, 110, 253))
    d.text((pad, size + 16), f"actual ({lo:.3g} .. {hi:.3g})", fill=(33, 37, 41), font=font)
    d.text((4, 10), "predicted", fill=(33, 37, 41), font=font)
    d.text((pad + 4, 14), title, fill=(33, 37, 41), font=font)
    return img


def train(rep: Reporter, p: dict[str, Any]) -> None:
    """Train an MLP on the view; classification or regression by the target's values."""
    import torch
    from torch import nn

    torch.manual_seed(p["seed"])
    torch.set_num_threads(p["threads"])
    rep.set_device("cpu")
    rep.progress(0, 1)
    info, rows, features = load_rows(p, rep.context["database_url"])
    target = p["target"]
    rows = [r for r in rows if r[target] is not None]
    if len(rows) < 20:
        raise ValueError(f"only {len(rows)} rows with a target value; need at least 20")
    rep.fact("rows_trained", len(rows))
    rep.log(f"{len(rows):,} rows of {info.key}; features: {', '.join(features)}")
    x_rows, names = encode(info, rows, features)
    values = [r[target] for r in rows]
    kind = info.column(target).kind  # type: ignore[union-attr]
    distinct = sorted({str(v) for v in values})
    classify = p["task"] == "classification" or (
        p["task"] == "auto" and (kind != "number" or len(distinct) <= MAX_CLASSES)
    )
    if classify and len(distinct) > MAX_CLASSES:
        raise ValueError(f"{len(distinct)} classes in {target}; at most {MAX_CLASSES}")
    rep.log(f"task: {'classification' if classify else 'regression'}; {len(names)} inputs")
    order = list(range(len(rows)))
    random.Random(p["seed"]).shuffle(order)
    n_val = max(5, len(order) // 5)
    x = torch.tensor([x_rows[i] for i in order], dtype=torch.float32)
    if classify:
        y = torch.tensor([distinct.index(str(values[i])) for i in order])
        out_dim = len(distinct)
        loss_fn: nn.Module = nn.CrossEntropyLoss()
    else:
        raw = [float(values[i]) for i in order]
        mean = sum(raw) / len(raw)
        std = math.sqrt(sum((v - mean) ** 2 for v in raw) / len(raw)) or 1.0
        y = torch.tensor([(v - mean) / std for v in raw], dtype=torch.float32).unsqueeze(1)
        out_dim, loss_fn = 1, nn.MSELoss()
    x_val, y_val, x_tr, y_tr = x[:n_val], y[:n_val], x[n_val:], y[n_val:]
    h = p["hidden"]
    model = nn.Sequential(
        nn.Linear(x.shape[1], h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, out_dim)
    )
    opt = torch.optim.Adam(model.parameters(), lr=p["learning_rate"])
    batch = 128
    per_epoch = math.ceil(len(x_tr) / batch)
    total, step = per_epoch * p["epochs"], 0
    for epoch in range(1, p["epochs"] + 1):
        model.train()
        perm = torch.randperm(len(x_tr))
        for b in range(per_epoch):
            idx = perm[b * batch : (b + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(x_tr[idx]), y_tr[idx])
            loss.backward()
            opt.step()
            step += 1
            if step % 5 == 0 or step == total:
                rep.metric("train_loss", float(loss), step)
            rep.progress(step, total, epoch=epoch, epochs=p["epochs"])
        model.eval()
        with torch.no_grad():
            pred = model(x_val)
            rep.metric("val_loss", float(loss_fn(pred, y_val)), step)
        if classify:
            labels = pred.argmax(1)
            acc = float((labels == y_val).float().mean())
            rep.metric("val_accuracy", acc, step)
            k = len(distinct)
            counts = [[0] * k for _ in range(k)]
            for t, q in zip(y_val.tolist(), labels.tolist(), strict=True):
                counts[t][q] += 1
            rep.image(f"confusion matrix epoch {epoch}", confusion_matrix(distinct, counts))
            rep.log(f"epoch {epoch}/{p['epochs']}: val_accuracy {acc:.3f}")
        else:
            actual = [v * std + mean for v in y_val.squeeze(1).tolist()]
            guess = [v * std + mean for v in pred.squeeze(1).tolist()]
            m = sum(actual) / len(actual)
            ss_tot = sum((a - m) ** 2 for a in actual) or 1.0
            r2 = 1 - sum((a - g) ** 2 for a, g in zip(actual, guess, strict=True)) / ss_tot
            rep.metric("val_r2", r2, step)
            rep.image(
                f"predicted vs actual epoch {epoch}",
                scatter(actual, guess, f"{target}, R² {r2:.3f}"),
            )
            rep.log(f"epoch {epoch}/{p['epochs']}: val_r2 {r2:.3f}")
    rep.model(model.state_dict())


TRAINER = Trainer(
    name="tabular-mlp",
    title="Tabular model (MLP on a table)",
    description=(
        "A small neural network on rows of a table of the browsed database (its grid "
        "filter applied): classification or regression of the target column. Artifacts: "
        "confusion matrix or predicted-against-actual plot after every epoch."
    ),
    params=(
        Param(
            "table",
            TEXT,
            "main.customer_churn",
            "Table as schema.table (use Train on this view on the Data page).",
        ),
        Param("target", TEXT, "churned", "Column to predict."),
        Param(
            "features",
            TEXT,
            "",
            "Comma-separated input columns; empty: every number and boolean column.",
            max_length=2000,
        ),
        Param(
            "filter",
            TEXT,
            "{}",
            "The grid filter model (JSON) selecting the rows.",
            max_length=10_000,
        ),
        Param(
            "task",
            CHOICE,
            "auto",
            "auto: classification for booleans, text and few distinct values.",
            choices=("auto", "classification", "regression"),
        ),
        Param("max_rows", INT, 20_000, "Rows to read at most.", minimum=20, maximum=1_000_000),
        Param("epochs", INT, 10, "Passes over the rows.", minimum=1, maximum=200),
        Param("hidden", INT, 64, "Units per hidden layer.", minimum=4, maximum=1024),
        Param("learning_rate", FLOAT, 0.003, "Adam step size.", minimum=1e-6, maximum=1.0),
        Param("seed", INT, 0, "Random seed.", minimum=0, maximum=2**31 - 1),
        Param("threads", INT, 1, "CPU threads for torch.", minimum=1, maximum=16),
    ),
    train=train,
    check=check,
)
