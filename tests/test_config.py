"""The office file: every mistake is one line naming the key path, exit code 1, hub not started."""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from importlib import resources

import pytest
from conftest import ROOT

from server.config import load_office, parse_office
from server.wire.errors import ConfigError

DEMO = tomllib.loads(resources.files("server").joinpath("demo_office.toml").read_text("utf-8"))


def mutate(fn):
    data = copy.deepcopy(DEMO)
    fn(data)
    return data


BAD = [
    (lambda d: d["services"][2].update(prefix="ABCD"), "services[2].prefix: must be at most 3 capital letters"),
    (lambda d: d["services"][0].pop("name"), "services[0].name: is required"),
    (lambda d: d["services"][1].update(first=10, last=5), "services[1].last: must be from first"),
    (lambda d: d["services"][1].update(prefix="A"), "services[1].prefix: 'A' is used by another service"),
    (lambda d: d["services"].append(dict(d["services"][0], prefix="Z")), "services[6].id: 'general' is used twice"),
    (lambda d: d["lanes"][0].update(weight="high"), "lanes[0].weight: must be a whole number"),
    (lambda d: d["policy"].update(mode="fair"), "policy.mode: must be one of strict, interleave"),
    (lambda d: d["policy"].update(priority_run=0), "policy.priority_run: must be 1 or more"),
    (lambda d: d["counters"][4].update(services=["nope"]), "counters[4].services[0]: 'nope' is not a service id"),
    (lambda d: d["counters"][0].update(lanes=["vip"]), "counters[0].lanes[0]: 'vip' is not a lane id"),
    (lambda d: d["devices"][0].update(role="robot"), "devices[0].role: must be one of kiosk, display"),
    (lambda d: d["devices"][5].update(counter="99"), "devices[5].counter: '99' is not a counter id"),
    (lambda d: d["devices"][1].update(token=d["devices"][0]["token"]), "devices[1].token: is the same as another"),
    (lambda d: d["devices"][0].update(token="short"), "devices[0].token: must be at least 8 characters"),
    (lambda d: d["office"].update(timezone="Mars/Olympus"), "office.timezone: is not a known time zone"),
    (lambda d: d["office"].update(name={"en": "x"}), "office.name: needs a non-empty zh-TW text"),
    (lambda d: d.update(colour="blue"), "colour: is not a known key"),
]


@pytest.mark.parametrize("fn,message", BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_mistakes_name_the_key_path(fn, message):
    with pytest.raises(ConfigError) as e:
        parse_office(mutate(fn))
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)


def test_demo_office_is_a_real_office():
    office = load_office(None)
    assert office.demo and 12 <= len(office.counters) <= 19
    assert {lane.id for lane in office.lanes} >= {"normal", "elderly", "disability"}
    private = office.service("private")
    assert private.private and "疼您" not in private.shown_name().zh and "死亡" not in private.shown_name().zh
    assert office.name.zh == "臺中市南屯區戶政事務所"


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="no such office file"):
        load_office(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[office\nname=", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_office(bad)


def run_cli(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_serve_refuses_a_bad_office_with_one_line_and_exit_1(tmp_path):
    bad = tmp_path / "office.toml"
    bad.write_text((resources.files("server") / "demo_office.toml").read_text("utf-8").replace(
        'prefix = "B"', 'prefix = "b"'), "utf-8")
    r = run_cli("serve", "--config", str(bad), "--db", str(tmp_path / "x.db"), "--port", "1")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "services[1].prefix" in lines[0]
    assert "ready" not in r.stdout
    assert not (tmp_path / "x.db").exists()


def test_check_config_and_usage_errors(tmp_path):
    r = run_cli("check-config", str(ROOT / "server" / "demo_office.toml"))
    assert r.returncode == 0 and "16 counters" in r.stdout
    r = run_cli("serve", "--port", "notaport")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("kiosk")
    assert r.returncode == 1 and "kiosk" in r.stderr
