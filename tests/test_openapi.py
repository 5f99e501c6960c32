"""The OpenAPI document at /api/v1/openapi.json against the application it describes.

(a) The routes under /api/v1 and the document's paths are the same set, method for method.
(b) Every status the server answers on a documented operation is declared there, over a sweep of
    tokens, ids and bodies that reaches every error path of server/api.py.
(c) Schemathesis, against a real `jiaohao serve`: no 5xx, and every answer matches the document.
"""

from __future__ import annotations

import re
from itertools import product
from typing import Any

import requests
import schemathesis
import schemathesis.engine
from conftest import ADMIN, DISPLAY, KIOSK, assert_error, counter_auth
from schemathesis.engine import Status
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished

from server.limits import PUBLIC_LIMIT
from server.openapi import openapi_document

PUBLIC_BURST = int(PUBLIC_LIMIT.split()[0])

API = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _template(path: str) -> str:
    """/counters/<cid>/next and /counters/{id}/next both become /counters/{}/next."""
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>|\{[^{}]+\}", "{}", path)


def app_routes(app: Any) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            methods = {m for m in rule.methods or () if m not in IGNORED_METHODS}
            routes.setdefault(_template(rule.rule[len(API):]), set()).update(methods)
    return routes


def document_routes(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {
        _template(path): {m.upper() for m in item if m in HTTP_METHODS}
        for path, item in doc["paths"].items()
    }


# -- (a) routes and paths -----------------------------------------------------------------------

def test_the_served_document_is_the_built_one(client):
    r = client.get(f"{API}/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.get_json() == openapi_document()


def test_every_route_is_documented_with_its_methods_and_nothing_else(app):
    routes = app_routes(app)
    documented = document_routes(openapi_document())
    assert routes, "no routes under /api/v1"
    assert set(routes) - set(documented) == set(), "routes missing from the OpenAPI document"
    assert set(documented) - set(routes) == set(), "documented paths the hub does not serve"
    for path, methods in routes.items():
        assert documented[path] == methods, path


def test_path_parameters_are_declared(app):
    doc = openapi_document()
    for path, item in doc["paths"].items():
        names = set(re.findall(r"\{([^{}]+)\}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method in HTTP_METHODS & set(item):
            declared |= {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
        assert names == declared, path


def test_operations_without_a_token_are_exactly_the_ones_documented_so(client):
    """`security: []` in the document if and only if the hub answers without a token."""
    doc = openapi_document()
    public = set()
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS & set(item):
            r = client.open(API + path.replace("{id}", "3"), method=method.upper())
            documented_public = item[method].get("security") == []
            assert (r.status_code != 401) == documented_public, (method, path, r.status_code)
            if documented_public:
                public.add(path)
    assert {"/health", "/public/status", "/openapi.json"} <= public


# -- (b') every status the server answers is declared -------------------------------------------

BIG = '{"service": "general", "pad": "' + "x" * (16 * 1024) + '"}'
BODIES: list[tuple[str, Any]] = [
    ("none", None),
    ("valid", {"service": "quick"}),
    ("valid_again", {"service": "quick"}),  # with the same Idempotency-Key: 200, the same ticket
    ("valid_lane", {"service": "general", "lane": "elderly"}),
    ("unknown_service", {"service": "passports"}),
    ("unknown_lane", {"service": "general", "lane": "vip"}),
    ("wrong_type", {"service": 17}),
    ("not_object", ["general"]),
    ("invalid_json", "{not json"),
    ("too_big", BIG),
]
HEADERS: list[dict[str, str]] = [
    {}, {"Authorization": "Bearer nope"}, DISPLAY, KIOSK, counter_auth("3"), counter_auth("5"), ADMIN,
    {**KIOSK, "Idempotency-Key": "sweep"}, {**KIOSK, "Idempotency-Key": ""},
]


def _send(client: Any, method: str, path: str, headers: dict[str, str], body: Any, addr: str = "127.0.0.1") -> Any:
    kw: dict[str, Any] = {"method": method, "headers": headers, "environ_base": {"REMOTE_ADDR": addr}}
    if isinstance(body, str):
        return client.open(path, data=body, content_type="application/json", **kw)
    if body is not None:
        kw["json"] = body
    return client.open(path, **kw)


def _prime(client: Any) -> None:
    """Counters 3 and 5 open, each with a called ticket, so that every counter operation can succeed."""
    for cid in ("3", "5"):
        counter = client.get(f"{API}/counters/{cid}", headers=ADMIN).get_json()["counter"]
        if not counter["open"]:
            assert client.post(f"{API}/counters/{cid}/open", headers=ADMIN).status_code == 200
        if counter["ticket"] is None:
            assert client.post(f"{API}/tickets", json={"service": "general"}, headers=ADMIN).status_code == 201
            assert client.post(f"{API}/counters/{cid}/next", headers=ADMIN).get_json()["ticket"] is not None


def test_every_status_the_server_answers_is_declared(client):
    """Sweep every operation over tokens, ids and bodies; each answer's status is in its responses."""
    doc = openapi_document()
    tickets = []
    # tickets[0] is called at counter 3 below; tickets[1] waits for English, which counters 3 and 5 never call.
    for service in ("general", "english", "quick", "general"):
        r = client.post(f"{API}/tickets", json={"service": service}, headers=KIOSK)
        tickets.append(r.get_json()["ticket"]["id"])
    client.post(f"{API}/counters/3/next", headers=counter_auth("3"))
    # Counters 3 and 5 are kept busy (_prime); 16 serves only "private", where nobody waits: always idle.
    ticket_ids = [tickets[0], tickets[1], "no-such-ticket"]
    ids = {"/tickets/": ticket_ids, "/public/tickets/": ticket_ids, "/counters/": ["3", "5", "16", "99"]}
    seen: dict[tuple[str, str], set[int]] = {}
    for path, item in doc["paths"].items():
        for method in sorted(HTTP_METHODS & set(item)):
            declared = {int(code) for code in item[method]["responses"]}
            candidates = [path]
            for prefix, values in ids.items():
                if path.startswith(prefix) and "{id}" in path:
                    candidates = [path.replace("{id}", v) for v in values]
            sweep = [(c, h, b, f"10.1.{n // 200}.{n % 200}")  # a fresh address each: no rate limit here
                     for n, (c, h, (_, b)) in enumerate(product(candidates, HEADERS, BODIES))]
            # ... and then one address until it is refused: the public endpoints' 429.
            sweep += [(candidates[0], ADMIN, None, "10.2.0.1")] * (PUBLIC_BURST + 10)
            for concrete, headers, body, addr in sweep:
                _prime(client)
                r = _send(client, method.upper(), API + concrete, headers, body, addr)
                seen.setdefault((method.upper(), path), set()).add(r.status_code)
                assert r.status_code in declared, (method.upper(), concrete, headers, body, r.status_code,
                                                   r.get_data(as_text=True)[:300])
                assert r.status_code < 500
                if r.status_code >= 400:
                    assert_error(r, r.status_code)
    # The sweep did reach the error paths it is meant to.
    assert {200, 201, 400, 401, 403, 409, 413, 422} <= seen[("POST", "/tickets")]
    assert {200, 400, 401, 403, 404, 409, 413, 422} <= seen[("POST", "/counters/{id}/transfer")]
    assert {200, 401, 403, 404, 409} <= seen[("POST", "/counters/{id}/recall")]
    assert {200, 401, 403, 404, 409} <= seen[("POST", "/tickets/{id}/cancel")]
    assert {200, 401, 404} <= seen[("GET", "/tickets/{id}")]
    assert {200, 429} <= seen[("GET", "/public/status")]


def test_every_error_status_has_a_shared_error_response():
    doc = openapi_document()
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS & set(item):
            for code, response in item[method]["responses"].items():
                if int(code) >= 400:
                    assert response == {"$ref": f"#/components/responses/E{code}"}, (path, method, code)
                    assert f"E{code}" in doc["components"]["responses"]


# -- (c) schemathesis against a real hub --------------------------------------------------------
#
# A programmatic run of Schemathesis's engine (what `schemathesis run` does), not a
# `schemathesis.pytest.from_fixture(...).parametrize()` test: the lazy pytest loader of
# schemathesis 4.32 sets `request.node._nodeid`, which pytest 9 no longer has.

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",  # an undocumented method on a documented path is a 405 ...
    "allow_header_conformance",  # ... whose Allow header names the documented ones
    "ignored_auth",  # a protected operation without its token is refused
]
# Schemathesis leaves out the document's own address.
NOT_FUZZED = {"GET /openapi.json"}


def _failure_text(event: Any) -> list[str]:
    out = []
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.failure_info is not None:
                failure = check.failure_info.failure
                out.append(f"{event.label}: {check.name}: {failure.title}: {failure.message}"[:1500])
    return out or [f"{event.label}: {event.status}"]


def _seed(api: str) -> list[str]:
    """A morning under way, so that fuzzed ids and bodies reach real tickets and counters."""
    ids = []
    for service, lane in [("general", "normal"), ("quick", "elderly"), ("general", "normal"), ("english", "normal"),
                          ("general", "disability"), ("certificate", "normal")]:
        r = requests.post(f"{api}/tickets", json={"service": service, "lane": lane}, headers=KIOSK, timeout=10)
        assert r.status_code == 201
        ids.append(r.json()["ticket"]["id"])
    for cid in ("3", "5"):
        r = requests.post(f"{api}/counters/{cid}/next", headers=counter_auth(cid), timeout=10)
        assert r.json()["ticket"] is not None
    assert requests.post(f"{api}/counters/5/start", headers=ADMIN, timeout=10).status_code == 200
    r = requests.post(f"{api}/counters/15/walk-in", json={"service": "general", "lane": "elderly"}, headers=ADMIN,
                      timeout=10)
    assert r.status_code == 200
    assert requests.post(f"{api}/counters/9/close", headers=ADMIN, timeout=10).status_code == 200
    return ids


def test_the_live_hub_conforms_to_its_document(hub_process):
    api = hub_process.url + API
    ticket_ids = _seed(api)
    config = schemathesis.Config.from_dict({
        "base-url": api,
        "headers": dict(ADMIN),
        "seed": 20261123,
        "generation": {"max-examples": 20, "database": "none"},
        # Half of the ids and bodies come from what exists, so that the 200s are checked too.
        "dictionaries": {
            "ids": {"values": ["3", "5", "9", "15", "16", *ticket_ids]},
            "services": {"values": ["general", "quick", "english", "private"]},
            "lanes": {"values": ["normal", "elderly", "disability"]},
        },
        "parameters": {
            "path.id": {"dictionary": "ids", "probability": 0.5},
            "body.service": {"dictionary": "services", "probability": 0.5},
            "body.lane": {"dictionary": "lanes", "probability": 0.5},
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"stateful": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_url(api + "/openapi.json", config=config)
    operations = {f"{m.upper()} {path}" for path, item in openapi_document()["paths"].items()
                  for m in HTTP_METHODS & set(item)}
    passed: set[str] = set()
    statuses: dict[str, set[int]] = {}
    failures: list[str] = []
    errors: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, ScenarioFinished) and event.is_test_scenario:
            label = event.label or ""
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses.setdefault(label, set()).add(interaction.response.status_code)
            if event.status == Status.SUCCESS:
                passed.add(label)
            elif event.status in (Status.FAILURE, Status.ERROR):
                failures += _failure_text(event)
        elif isinstance(event, NonFatalError):
            errors.append(f"{event.label}: {event.value!r}"[:1500])
        elif isinstance(event, FatalError):
            errors.append(repr(event.exception))
    assert errors == []
    assert failures == []
    assert passed == operations - NOT_FUZZED
    # The run did reach the answers that carry Tickets, not only the refusals.
    assert 201 in statuses["POST /tickets"]
    for label in ("GET /tickets/{id}", "POST /counters/{id}/next", "POST /counters/{id}/walk-in", "GET /state"):
        assert 200 in statuses[label], label
