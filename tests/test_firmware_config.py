"""What turns a Pi into a hub, kiosk, board or sign driver (firmware_config/, scripts/install-pi).

Every command line in the units is one jiaohao takes or a file of the checkout; every unit has its
watchdog and its hardening (scored by systemd-analyze); every shell script is shellcheck-clean; and
scripts/test-pi-install runs install-pi for every role in a debootstrap root when the machine can.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from server.cli import parser

SYSTEMD = ROOT / "firmware_config" / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
ROLES = ("hub", "kiosk", "display", "signs")
ROLE_UNITS = [SYSTEMD / f"jiaohao-{r}.service" for r in ROLES]
RELEASE = "/opt/jiaohao/current/"
CACHED_ROOT = Path(os.environ.get("JIAOHAO_TEST_CACHE", "/var/cache/jiaohao-test")) / "bookworm-minbase.tar"


# What install-pi writes into /etc/jiaohao/ROLE.env, as the units' ${VARIABLES} see it.
ENV = {"JIAOHAO_HUB": "http://jiaohao-hub.local:8600", "JIAOHAO_PRINTER": "usb:0416:5011", "JIAOHAO_HOST": "0.0.0.0",
       "JIAOHAO_PORT": "8600", "JIAOHAO_DB": "/var/lib/jiaohao/jiaohao.db", "JIAOHAO_BACKUP_DIR": "/var/lib/jiaohao/b",
       "JIAOHAO_BACKUP_KEEP": "14"}


def service(unit: Path) -> configparser.SectionProxy:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(unit, encoding="utf-8")
    return cp["Service"]


def exec_lines(unit: Path) -> list[str]:
    return [v for k, v in service(unit).items() if k in ("ExecStart", "ExecStartPre", "ExecCondition")]


@pytest.mark.parametrize("unit", UNITS, ids=[u.stem for u in UNITS])
def test_unit_command_lines_parse(unit: Path) -> None:
    lines = exec_lines(unit)
    assert lines, f"{unit.name} starts nothing"
    for line in lines:
        argv = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: ENV[m[1]], line.removeprefix("+")))
        if argv[0] == "/usr/bin/systemctl":  # jiaohao-hub-restart.service: restarts the hub, nothing else
            assert argv[1:] == ["restart", "--no-block", "jiaohao-hub.service"], argv
            continue
        assert argv[0].startswith(RELEASE), argv  # the current release, never a checkout's .venv
        if argv[0].endswith("/jiaohao"):
            args = parser().parse_args(argv[1:])  # a mistake would exit 1 here
            role = unit.stem.removeprefix("jiaohao-")
            assert args.command in ({"hub": "serve"}.get(role, role), "check-config"), line
        else:
            script = next(a for a in argv if a.startswith(RELEASE + "src/"))
            assert (ROOT / script.removeprefix(RELEASE + "src/")).is_file(), script


def test_units_keep_tokens_out_of_command_lines() -> None:
    for unit in SYSTEMD.iterdir():
        text = unit.read_text("utf-8")
        assert "--token" not in text and "demo-" not in text


@pytest.mark.parametrize("unit", ROLE_UNITS, ids=ROLES)
def test_every_role_has_a_watchdog_and_waits_instead_of_restarting(unit: Path) -> None:
    s = service(unit)
    assert s["Type"] == "notify" and s["NotifyAccess"] == "main"
    assert int(s["WatchdogSec"]) >= 30 and s["Restart"] == "always"
    assert s["User"] == "jiaohao" and s["StateDirectory"] == "jiaohao" and s["WorkingDirectory"] == "/var/lib/jiaohao"
    assert "ExecCondition" in s  # missing settings: said once, no restart (a skip never restarts)
    assert (SYSTEMD / unit.name.replace(".service", ".path")).is_file()


def test_saving_the_office_file_restarts_a_running_hub_only_once_the_file_checks() -> None:
    # A .path unit only *starts* its unit, and starting an active hub does nothing (seen under a booted systemd,
    # scripts/test-pi-boot): the path starts a oneshot that restarts the hub, after the hub's own check.
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(SYSTEMD / "jiaohao-hub.path", encoding="utf-8")
    assert cp["Path"]["Unit"] == "jiaohao-hub-restart.service"
    restart = service(SYSTEMD / "jiaohao-hub-restart.service")
    assert restart["Type"] == "oneshot"
    assert restart["ExecCondition"] == service(SYSTEMD / "jiaohao-hub.service")["ExecCondition"]
    assert restart["ExecStart"] == "+/usr/bin/systemctl restart --no-block jiaohao-hub.service"
    assert "jiaohao-hub-restart.service" in (ROOT / "scripts" / "install-pi").read_text("utf-8")


def test_the_hub_starts_after_the_clock_is_set() -> None:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.read(SYSTEMD / "jiaohao-hub.service", encoding="utf-8")
    assert "time-sync.target" in cp["Unit"]["after"].split() and "time-sync.target" in cp["Unit"]["wants"].split()


def _exposure(unit: Path) -> float:
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    return float(m.group(1))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=[u.stem for u in UNITS])
def test_every_unit_scores_under_5_and_the_readme_says_its_score(unit: Path) -> None:
    score = _exposure(unit)
    assert score < 5, f"{unit.name}: {score}"
    readme = (ROOT / "firmware_config" / "README.md").read_text("utf-8")
    assert f"| `{unit.name}` | {score:.1f} |" in readme


def _unit_helper(role: str, etc: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "firmware_config" / "jiaohao-unit"), "check-settings", role],
                          capture_output=True, text=True, env={**os.environ, "JIAOHAO_ETC": str(etc)}, timeout=30)


def test_a_role_without_its_settings_says_why_in_one_line_and_is_skipped(tmp_path: Path) -> None:
    r = _unit_helper("kiosk", tmp_path)
    assert r.returncode == 1 and r.stdout.count("\n") == 1 and "kiosk.env" in r.stdout  # 1-254: a skip
    (tmp_path / "kiosk.env").write_text("JIAOHAO_HUB=http://jiaohao-hub.local:8600\nJIAOHAO_KIOSK_TOKEN=\n")
    (tmp_path / "kiosk.toml").write_text((ROOT / "firmware_config" / "kiosk.example.toml").read_text("utf-8"))
    r = _unit_helper("kiosk", tmp_path)
    assert r.returncode == 1 and r.stdout.count("\n") == 1
    assert "JIAOHAO_KIOSK_TOKEN" in r.stdout and "JIAOHAO_PRINTER" in r.stdout and "等待設定" in r.stdout
    with (tmp_path / "kiosk.env").open("a") as f:
        f.write('JIAOHAO_KIOSK_TOKEN="abc"\n')
    r = _unit_helper("kiosk", tmp_path)
    assert "JIAOHAO_KIOSK_TOKEN" not in r.stdout and "JIAOHAO_PRINTER" in r.stdout
    text = (tmp_path / "kiosk.toml").read_text().replace('# printer = "usb:0416:5011"', 'printer = "usb:0416:5011"')
    (tmp_path / "kiosk.toml").write_text(text)
    r = _unit_helper("kiosk", tmp_path)
    assert r.returncode == 0 and r.stdout == "", r.stdout


def test_signs_wait_for_a_port_and_boards_for_a_token(tmp_path: Path) -> None:
    (tmp_path / "signs.env").write_text("JIAOHAO_HUB=http://jiaohao-hub.local:8600\nJIAOHAO_SIGNS_TOKEN=t\n")
    (tmp_path / "signs.toml").write_text("baud = 9600\n")
    r = _unit_helper("signs", tmp_path)
    assert r.returncode == 1 and "port" in r.stdout and "TOKEN" not in r.stdout
    shutil.copy(ROOT / "firmware_config" / "signs.example.toml", tmp_path / "signs.toml")
    assert _unit_helper("signs", tmp_path).returncode == 0
    (tmp_path / "display.env").write_text("JIAOHAO_HUB=http://jiaohao-hub.local:8600\nJIAOHAO_DISPLAY_TOKEN=\n")
    r = _unit_helper("display", tmp_path)
    assert r.returncode == 1 and "JIAOHAO_DISPLAY_TOKEN" in r.stdout
    (tmp_path / "display.env").write_text("JIAOHAO_HUB=http://x:8600\nJIAOHAO_DISPLAY_TOKEN=t\nJIAOHAO_AUDIO=hdmi\n")
    assert _unit_helper("display", tmp_path).returncode == 0


def test_install_script_refuses_a_bad_role_in_one_line() -> None:
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install-pi"), "toaster"], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "usage" in r.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["kiosk", "--office", "x.toml"], "for the hub role"),
    (["hub", "--token", "t"], "for kiosk, display and signs"),
    (["display", "--hub", "jiaohao-hub.local"], "http://"),
    (["kiosk", "--office"], "usage"),
])
def test_install_script_refuses_wrong_options_before_touching_anything(args: list[str], says: str) -> None:
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install-pi"), *args], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    # As root the option is what is refused; otherwise already the missing root.
    assert says in r.stderr or (os.geteuid() != 0 and "as root" in r.stderr), r.stderr


def shell_scripts() -> list[Path]:
    found = []
    for folder in (ROOT / "scripts", ROOT / "firmware_config"):
        for p in sorted(folder.rglob("*")):
            if p.is_file() and (p.suffix == ".sh" or p.read_bytes()[:40].split(b"\n")[0].endswith((b"bash", b"/sh"))):
                found.append(p)
    return found


def test_every_shell_script_is_shellcheck_clean() -> None:
    if not shutil.which("shellcheck"):
        if os.environ.get("CI"):
            pytest.fail("shellcheck is missing although scripts/test installs it")
        pytest.skip("shellcheck is not installed here (scripts/test installs it)")
    scripts = shell_scripts()
    assert {p.name for p in scripts} >= {"install-pi", "test-pi-install", "test-mdns", "pin-pi", "jiaohao-unit",
                                         "_env.sh", "test", "test-pi-boot", "test-pi-boot-guest"}
    r = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", *map(str, scripts)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_pinned_set_is_exact_and_has_what_jiaohao_needs() -> None:
    lines = [x for x in (ROOT / "requirements" / "pi.txt").read_text("utf-8").splitlines() if x and x[0] != "#"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+( ; .+)?", x) for x in lines), lines
    names = {x.split("==")[0].lower().replace("_", "-") for x in lines}
    assert {"flask", "gevent", "pygame-ce", "lgpio", "pyusb", "pyserial", "setuptools", "av"} <= names
    # No wheel for 32-bit Pi OS: a marker keeps install-pi working there (boards then skip videos, said in the log).
    assert [x.split(" ; ")[1] for x in lines if x.startswith("av==")] == [
        'platform_machine == "aarch64" or platform_machine == "x86_64"']
    assert not names & {"pytest", "ruff", "playwright", "jiaohao", "pip"}  # only what a Pi runs
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["hardware"] + \
        project["optional-dependencies"]["display"]
    needed = {re.match(r"[A-Za-z0-9_.\-]+", d)[0].lower().replace("_", "-") for d in wanted}  # type: ignore[index]
    assert needed <= names, f"scripts/pin-pi again: {sorted(needed - names)} not pinned"


def _cannot_try_mdns() -> str | None:
    """Why scripts/test-mdns cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    missing = [t for t in ("ip", "dbus-daemon", "avahi-daemon", "avahi-browse", "avahi-publish") if not shutil.which(t)]
    hosts = next((x for x in Path("/etc/nsswitch.conf").read_text().splitlines() if x.startswith("hosts:")), "") \
        if Path("/etc/nsswitch.conf").is_file() else ""
    if "mdns" not in hosts:
        missing.append("libnss-mdns (mdns4_minimal in /etc/nsswitch.conf)")
    if missing:
        why = f"needs {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"scripts/test-mdns {why}, although scripts/test installs them")
        return why
    probe = f"jhprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return f"cannot make network namespaces on this machine ({r.stderr.strip()})"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return None


@pytest.mark.timeout(300)
def test_kiosks_find_the_hub_as_jiaohao_hub_local() -> None:
    """The hub's avahi publishing (jiaohao-unit mdns, the service file) and a client's libnss-mdns, between two
    network namespaces: a kiosk reaches GET /health at http://jiaohao-hub.local:8600 by the name alone."""
    why = _cannot_try_mdns()
    if why:
        pytest.skip(f"scripts/test-mdns {why}")
    r = subprocess.run([str(ROOT / "scripts" / "test-mdns")], capture_output=True, text=True, timeout=240,
                       env={**os.environ, "JIAOHAO_PYTHON": sys.executable})
    assert r.returncode == 0 and "test-mdns: ok" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert "getent: 10.213.0.1" in r.stdout and '"status":"ok"' in r.stdout


def _mirror_unreachable() -> str | None:
    """Why the Debian mirror cannot be reached from here, or None when it can."""
    import urllib.request

    mirror = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    try:  # install-pi's apt-get needs the mirror on every run; the cache spares debootstrap and PyPI only
        urllib.request.urlopen(f"{mirror}/dists/bookworm/Release", timeout=10).close()
    except OSError as e:
        return f"cannot reach the Debian mirror {mirror} ({e})"
    return None


def _can_build_a_root() -> str | None:
    """Why scripts/test-pi-install cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which("debootstrap"):
        return "needs debootstrap"
    if os.environ.get("JIAOHAO_SKIP_PI_ROOT"):
        return "JIAOHAO_SKIP_PI_ROOT is set"
    if not CACHED_ROOT.is_file():
        # Cold it takes about 3.5 minutes here (debootstrap, .deb files, wheels), warm 1.5: run inside the suite
        # that is all added to its time. In CI, scripts/test runs it beside the suite instead (below). The checks
        # above (units, scores, settings, shellcheck, pins) run anyway.
        return f"has no cached root in {CACHED_ROOT} yet: run `sudo scripts/test-pi-install` once to make it"
    return _mirror_unreachable()


def _started_beside_the_suite(run: Path, timeout_s: float) -> tuple[int, str]:
    """scripts/test's run of scripts/test-pi-install (CI): its exit code and output, once it has ended."""
    deadline = time.monotonic() + timeout_s
    while not (run / "rc").is_file():
        if time.monotonic() > deadline:
            pytest.fail(f"scripts/test-pi-install, started by scripts/test, has not ended after {timeout_s:.0f} s: "
                        f"{run}/log")
        time.sleep(2)
    rc = int((run / "rc").read_text().strip())  # renamed into place: never seen half written
    return rc, (run / "log").read_text("utf-8", errors="replace")


def test_the_booted_hub_check_says_skip_without_its_cache(tmp_path: Path) -> None:
    # scripts/test-pi-boot (run by hand: about 14 minutes under qemu's emulation here) skips in one line, with
    # exit 0, where it cannot run: no root, no qemu, or no cached bookworm root as here.
    r = subprocess.run([str(ROOT / "scripts" / "test-pi-boot")], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "JIAOHAO_TEST_CACHE": str(tmp_path / "none")})
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("test-pi-boot: SKIP: ") and r.stdout.count("\n") == 1, r.stdout
    assert not list(tmp_path.iterdir())  # nothing made


@pytest.mark.timeout(1500)
def test_install_pi_in_a_bookworm_root() -> None:
    run = os.environ.get("JIAOHAO_PI_INSTALL_RUN")
    if run:  # CI: scripts/test started it with the suite, cold or warm; here it is only waited for
        rc, out = _started_beside_the_suite(Path(run), 1400)
    else:
        why = _can_build_a_root()
        if why:
            pytest.skip(f"scripts/test-pi-install {why}")
        r = subprocess.run([str(ROOT / "scripts" / "test-pi-install")], capture_output=True, text=True, timeout=1500)
        rc, out = r.returncode, r.stdout + r.stderr
    if rc != 0 and "debootstrap failed" in out:
        why = _mirror_unreachable()  # the one reason to skip: no Debian mirror to build the root from
        if why:
            pytest.skip(f"scripts/test-pi-install {why}")
    tail = "\n".join(line for line in out.splitlines() if not line.startswith("WARNING: Location"))[-4000:]
    assert rc == 0 and "test-pi-install: ok" in out, tail
    assert "the installed hub answers GET /health" in out
