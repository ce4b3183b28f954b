"""The shipped deployment files and docs name only options and settings that exist."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from vantagepoint.cli.main import app
from vantagepoint.config import AgentSettings, CoreSettings

ROOT = Path(__file__).parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_units_start_vantage_with_options_it_has():
    assert {p.name for p in UNITS} == {"vantage-core@.service", "vantage-agent.service"}
    for path in UNITS:
        service = unit(path)["Service"]
        argv = shlex.split(service["ExecStart"])
        assert argv[0].endswith("/bin/vantage"), path
        help_text = CliRunner().invoke(app, [argv[1], "--help"], terminal_width=200).output
        for option in (a for a in argv[2:] if a.startswith("--")):
            assert option in help_text, f"{path.name}: `vantage {argv[1]}` has no {option}"
        assert service["Restart"] == "always" and service["EnvironmentFile"]


def test_every_setting_named_in_docs_and_deploy_exists():
    known = {f"VANTAGE_{n.upper()}" for n in CoreSettings.model_fields}
    known |= {f"VANTAGE_AGENT_{n.upper()}" for n in AgentSettings.model_fields}
    texts = [ROOT / "docs" / "production.md", *UNITS]
    named = {m for p in texts for m in re.findall(r"VANTAGE_[A-Z_]*[A-Z]", p.read_text())}
    assert named - {"VANTAGE_TEST_PG_URL"} <= known, sorted(named - known)
    assert {"VANTAGE_ARCHIVERS", "VANTAGE_AGENT_CA_BUNDLE"} <= named


def test_nothing_turns_certificate_verification_off():
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "deploy").rglob("*"), *UNITS]
    for path in sources:
        if path.is_file():
            assert not re.search(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False",
                                 path.read_text()), path
