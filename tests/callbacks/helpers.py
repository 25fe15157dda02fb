"""Drive Dash callbacks headlessly by posting to ``_dash-update-component``."""

from __future__ import annotations

import json
import re
from typing import Any


def find_callback(
    deps: list[dict[str, Any]], output_fragment: str, via: str | None = None
) -> dict[str, Any]:
    """The dependency entry whose output string contains ``output_fragment``.

    An output another callback also writes (``allow_duplicate``) carries an ``@hash``: the
    fragment names the callback that writes it without one, unless it includes the ``@``
    or ``via`` (an ``id.prop`` among the callback's inputs) picks the callback.
    """
    if via is not None:
        matches = [
            d
            for d in deps
            if output_fragment in d["output"]
            and via in [f"{i['id']}.{i['property']}" for i in d["inputs"]]
        ]
        assert len(matches) == 1, f"{len(matches)} callbacks output {output_fragment} via {via}"
        return matches[0]
    pattern = re.compile(re.escape(output_fragment) + ("" if "@" in output_fragment else "(?!@)"))
    matches = [d for d in deps if pattern.search(d["output"])]
    assert len(matches) == 1, f"{len(matches)} callbacks output {output_fragment}"
    return matches[0]


def build_payload(
    deps: list[dict[str, Any]],
    output_fragment: str,
    values: dict[str, Any],
    via: str | None = None,
) -> dict[str, Any]:
    """The request body the browser would send, with input/state values by ``id.prop``."""
    dep = find_callback(deps, output_fragment, via)
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in dep["output"].strip(".").split("...")
    ]
    # A pattern-matching input (ALL) is a list of the components it matches: none here.
    inputs = [
        [] if i["id"].startswith("{") else {**i, "value": values.get(f"{i['id']}.{i['property']}")}
        for i in dep["inputs"]
    ]
    state = [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep["state"]]
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [next(iter(values))] if values else [],
    }


def post_callback(
    client: Any,
    prefix: str,
    output_fragment: str,
    values: dict[str, Any],
    via: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Call, through a Flask test client, the callback that outputs ``output_fragment``.

    The first key of ``values`` is the input that changed; ``via`` see ``find_callback``.
    """
    deps = client.get(f"{prefix}_dash-dependencies").get_json()
    body = build_payload(deps, output_fragment, values, via)
    resp = client.post(
        f"{prefix}_dash-update-component", data=json.dumps(body), content_type="application/json"
    )
    return resp.status_code, (resp.get_json() if resp.is_json else {"raw": resp.data[:500]})
