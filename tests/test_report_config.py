"""The office file's keys for reports and the supervisor: services[].points and [alerts]."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import pytest

from server.config import ConfigError, parse_office
from server.engine.office import Alerts

DEMO = tomllib.loads(resources.files("server").joinpath("demo_office.toml").read_text("utf-8"))


def office_with(fn):
    data = copy.deepcopy(DEMO)
    fn(data)
    return parse_office(data)


def test_points_default_to_one_and_alerts_to_their_defaults():
    def strip(d):
        for s in d["services"]:
            s.pop("points", None)
        d.pop("alerts")

    office = office_with(strip)
    assert {s.points for s in office.services} == {1.0}
    assert office.alerts == Alerts(30, 5, 10, 80)
    demo = office_with(lambda d: None)
    assert demo.service("english").points == 1.5 and demo.service("quick").points == 0.5


@pytest.mark.parametrize("fn,message", [
    (lambda d: d["services"][0].update(points=-1), "services[0].points: must be from 0 to 100"),
    (lambda d: d["services"][0].update(points="many"), "services[0].points: must be a whole number or a number"),
    (lambda d: d["alerts"].update(wait_minutes=0), "alerts.wait_minutes: must be from 1 to 600"),
    (lambda d: d["alerts"].update(service_level_pct=100), "alerts.service_level_pct: must be from 1 to 99"),
    (lambda d: d["alerts"].update(colour="red"), "alerts.colour: is not a known key"),
])
def test_mistakes_name_the_key(fn, message):
    with pytest.raises(ConfigError) as e:
        office_with(fn)
    assert str(e.value).startswith(message), str(e.value)
