from __future__ import annotations

import argparse
import datetime as dt
import re

import pytest

from jobs.generate import (
    GeneratorConfig,
    Profile,
    config_from_args,
    district_events,
    main,
    parse_args,
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"events": 0}, "events"),
        ({"events": 1.5}, "events"),
        ({"seed": -1}, "seed"),
        ({"tenants": 1}, "tenants"),
        ({"tenants": 61}, "tenants"),
        ({"learners": 3, "tenants": 6}, "learners"),
        ({"days": 0}, "days"),
        ({"malformed_rate": 0.6}, "malformed_rate"),
        ({"malformed_rate": -0.01}, "malformed_rate"),
        ({"start": "2025-01-06"}, "start"),
        ({"start": dt.date(2089, 12, 1)}, "start + days"),
        ({"canaries": "yes"}, "canaries"),
        ({"partitions": 0}, "partitions"),
    ],
)
def test_invalid_config_names_the_field(changes: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"events": 1_000, **changes}
    with pytest.raises(ValueError, match=f"^{re.escape(field)} "):
        GeneratorConfig(**arguments)  # type: ignore[arg-type]


def test_defaults_derive_from_events() -> None:
    small = GeneratorConfig(events=2_000)
    assert (small.tenant_count, small.learner_count) == (6, 40)
    large = GeneratorConfig(events=10_000_000)
    assert (large.tenant_count, large.learner_count) == (60, 166_666)
    assert large.partition_count == 5
    assert GeneratorConfig(events=100, malformed_rate=0).malformed_rate == 0


def test_command_line_maps_to_config() -> None:
    args = parse_args(
        "--events 5000 --seed 3 --out /tmp/x --malformed-rate 0.05 --no-canaries "  # noqa: SIM905
        "--tenants 8 --learners 90 --start 2025-02-03 --days 14".split()
    )
    assert config_from_args(args) == GeneratorConfig(
        events=5_000,
        seed=3,
        tenants=8,
        learners=90,
        start=dt.date(2025, 2, 3),
        days=14,
        malformed_rate=0.05,
        canaries=False,
    )
    assert isinstance(args, argparse.Namespace) and args.out == "/tmp/x"


def test_command_line_rejects_bad_value_before_spark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "-5", "--out", "/tmp/never-written"]) == 2
    assert "events must be in" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"profile": "city"}, "profile"),
        ({"tenant_learners": (2_000, 400)}, "tenant_learners"),  # default profile
        ({"profile": "district", "tenant_learners": (2_000, 150)}, "tenant_learners"),
        ({"profile": "district", "tenant_learners": (20_001,)}, "tenant_learners"),
        ({"profile": "district", "tenant_learners": ()}, "tenant_learners"),
        ({"profile": "district", "tenant_learners": [2_000]}, "tenant_learners"),
        ({"profile": "district", "learners": 5_000}, "learners"),
        ({"profile": "district", "tenants": 3, "tenant_learners": (2_000, 400)}, "tenants"),
    ],
)
def test_invalid_district_config_names_the_field(changes: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"events": 1_000, **changes}
    with pytest.raises(ValueError, match=f"^{re.escape(field)} "):
        GeneratorConfig(**arguments)  # type: ignore[arg-type]


def test_district_command_line_derives_events_from_the_sizes() -> None:
    args = parse_args("--out /tmp/x --profile district --tenant-learners 2000,400".split())  # noqa: SIM905
    config = config_from_args(args)
    assert config.profile is Profile.DISTRICT
    assert config.tenant_learners == (2_000, 400) and config.tenant_count == 2
    assert config.events == district_events(2_400, 56) == round(2_400 * 2.7 * 8)
    three = config_from_args(parse_args("--out /tmp/x --profile district".split()))  # noqa: SIM905
    assert three.learner_count == 20_000 + 2_000 + 200
    with pytest.raises(ValueError, match=r"^events is required"):
        config_from_args(parse_args(["--out", "/tmp/x"]))
