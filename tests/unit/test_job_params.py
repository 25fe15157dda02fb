"""Trainer parameters: defaults, bounds, types and hostile values."""

from __future__ import annotations

import pytest

from jobs import registry
from jobs.params import validate

SHAPES = registry.get("shapes-cnn")


def test_jp001_defaults_fill_missing_values() -> None:
    values, errors = validate(SHAPES.params, {})
    assert errors == {}
    assert values["epochs"] == 3
    assert values["device"] == "auto"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"epochs": 0}, "epochs", "at least 1"),
        ({"epochs": 10_000}, "epochs", "at most 50"),
        ({"epochs": "three"}, "epochs", "whole number"),
        ({"epochs": True}, "epochs", "a number is required"),
        ({"learning_rate": float("nan")}, "learning_rate", "finite"),
        ({"learning_rate": "1e9"}, "learning_rate", "at most 1"),
        ({"device": "tpu; rm -rf /"}, "device", "must be one of auto, cpu"),
        ({"__class__": 1}, "__class__", "unknown parameter"),
    ],
)
def test_jp002_bad_values_are_named(raw, field: str, message: str) -> None:
    _, errors = validate(SHAPES.params, raw)
    assert message in errors[field]


def test_jp003_not_an_object() -> None:
    assert validate(SHAPES.params, ["epochs", 3]) == ({}, {"": "parameters must be an object"})


def test_jp004_registry() -> None:
    assert "shapes-cnn" in registry.trainers()
    with pytest.raises(KeyError, match="no trainer 'nope'"):
        registry.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.Trainer("shapes-cnn", "x", "x", (), SHAPES.train))


def test_jp005_shapes_are_drawn_deterministically() -> None:
    from jobs.trainers.shapes import make_dataset

    a, la = make_dataset(40, seed=1)
    b, lb = make_dataset(40, seed=1)
    assert la == lb
    assert [i.tobytes() for i in a] == [i.tobytes() for i in b]
    assert sorted(set(la)) == [0, 1, 2, 3]
