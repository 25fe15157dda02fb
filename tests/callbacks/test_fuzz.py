"""Every server callback, fed values no browser of ours would send: a clean answer, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

GARBAGE: list[Any] = [
    None,
    "",
    "x' OR 1=1; DROP TABLE events --",
    0,
    -1,
    2**63,
    1.5,
    True,
    [],
    [None, 3],
    {},
    {"a": [1, {"b": None}], "startRow": "0"},
    "é" * 5000,
]


def _concrete(dep_id: str) -> Any:
    """A pattern-matching id with its wildcards filled in, as a browser would send it."""
    if not dep_id.startswith("{"):
        return dep_id
    parsed = json.loads(dep_id)
    return {k: ("fuzz" if isinstance(v, list) else v) for k, v in parsed.items()}


def _is_all(dep_id: str) -> bool:
    """Whether an id matches every component of a pattern (the browser sends a list)."""
    return dep_id.startswith("{") and any(
        v in (["ALL"], ["ALLSMALLER"]) for v in json.loads(dep_id).values()
    )


def _server_callbacks(client) -> list[dict[str, Any]]:
    deps = client.get("/_dash-dependencies").get_json()
    return [d for d in deps if not d.get("clientside_function") and not d.get("background")]


def _body(dep: dict[str, Any], slot: tuple[str, int], value: Any) -> dict[str, Any]:
    """The request a browser would send, with ``value`` in one input or state and None elsewhere.

    An ``ALL`` pattern carries a list: one matching component holding ``value`` when it is
    the slot under test, no component otherwise; outputs list one matching component.
    """
    outputs = []
    for part in dep["output"].strip(".").split("..."):
        out_id, prop = part.rsplit(".", 1)
        one = {"id": _concrete(out_id), "property": prop.split("@")[0]}
        outputs.append([one] if _is_all(out_id) else one)

    def items(kind: str) -> list[Any]:
        made: list[Any] = []
        for n, i in enumerate(dep[kind]):
            one = {"id": _concrete(i["id"]), "property": i["property"], "value": None}
            if (kind, n) == slot:
                one["value"] = value
            if _is_all(i["id"]):
                made.append([one] if (kind, n) == slot else [])
            else:
                made.append(one)
        return made

    inputs = items("inputs")
    first = inputs[slot[1]] if slot[0] == "inputs" else inputs[0]
    changed = first[0] if isinstance(first, list) and first else first
    if isinstance(changed, list):  # an empty ALL input: nothing changed there
        prop_ids = []
    else:
        changed_id = changed["id"]
        changed_id = changed_id if isinstance(changed_id, str) else json.dumps(changed_id)
        prop_ids = [f"{changed_id}.{changed['property']}"]
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": items("state"),
        "changedPropIds": prop_ids,
    }


@pytest.mark.timeout(240)
def test_fz001_no_callback_answers_500_or_a_traceback(client) -> None:
    callbacks = _server_callbacks(client)
    assert len(callbacks) >= 15, "the app's callbacks were not all found"
    failures = []
    posts = 0
    for dep in callbacks:
        slots = [("inputs", n) for n in range(len(dep["inputs"]))]
        slots += [("state", n) for n in range(len(dep["state"]))]
        for slot in slots:
            for value in GARBAGE:
                body = _body(dep, slot, value)
                resp = client.post(
                    "/_dash-update-component",
                    data=json.dumps(body),
                    content_type="application/json",
                )
                posts += 1
                text = resp.get_data(as_text=True)
                if resp.status_code not in (200, 204, 400) or "Traceback" in text:
                    name = dep[slot[0]][slot[1]]
                    failures.append(
                        f"{resp.status_code} {name['id']}.{name['property']}={value!r:.40}: {text[:200]}"
                    )
    assert posts > 500
    assert not failures, "\n".join(failures[:20])


URL_GARBAGE = [
    "",
    "x",
    "'; DROP TABLE events --",
    "-1",
    str(2**70),
    "%00",
    "../../etc/passwd",
    "é" * 300,
    "{}",
    '{"a":{"filterType":"text","type":"equals","filter":[1]}}',
    "1e999",
    "main.events",
]
URL_SHAPES = [
    "/export.csv?table={q}",
    "/export.csv?table=main.events&filter={q}&sort={q}&quick={q}",
    "/jobs/{q}/artifacts/1",
    "/jobs/x/artifacts/{q}",
    "/jobs/{q}/artifacts.zip",
    "/jobs/{q}/model.pt",
    "/compositor/files/{q}/{q}/preview",
    "/compositor/files/{q}/renders/{q}",
    "/data?table={q}&filter={q}&sort={q}",
    "/training/{q}",
    "/compositor?artifact={q}",
    "/{q}",
    "/_dash-component-suites/{q}/{q}",
    "/_dash-component-suites/dash/{q}",
    "/assets/{q}",
]


def test_fz002_no_url_answers_500_or_a_traceback(client) -> None:
    from urllib.parse import quote

    failures = []
    for shape in URL_SHAPES:
        for value in URL_GARBAGE:
            path = shape.format(q=quote(value, safe=""))
            resp = client.get(path)
            if resp.status_code >= 500 or b"Traceback" in resp.get_data():
                failures.append(f"{resp.status_code} {path[:100]}")
    assert not failures, "\n".join(failures)
