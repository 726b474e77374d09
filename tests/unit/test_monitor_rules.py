"""The alert rule grammar: what parses and to what, what does not and where it stops, and the defaults."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sqlalchemy as sa

from ai_services.monitor_service.rules import METRICS, Expression, Matcher, RuleSyntaxError, parse
from ai_services.monitor_service.tables import rules
from shared.config import LoomaSettings
from shared.database.schema import upgrade


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('error_rate{service="crm"} > 0.05 for 2m',
         Expression("error_rate", (Matcher("service", False, "crm"),), ">", 0.05, 120)),
        ('latency_p95{service="gateway"} > 0.5',
         Expression("latency_p95", (Matcher("service", False, "gateway"),), ">", 0.5, 0)),
        ("instance_down > 0 for 30s", Expression("instance_down", (), ">", 0.0, 30)),
        ("outbox_lag_seconds > 60", Expression("outbox_lag_seconds", (), ">", 60.0, 0)),
        ("breaker_open > 0", Expression("breaker_open", (), ">", 0.0, 0)),
        ("disk_free_ratio < 0.1", Expression("disk_free_ratio", (), "<", 0.1, 0)),
        ('  breaker_open { service != "chat" , instance="chat@10.0.0.5:8209", }>=1   for 1h30m  ',
         Expression("breaker_open",
                    (Matcher("service", True, "chat"), Matcher("instance", False, "chat@10.0.0.5:8209")),
                    ">=", 1.0, 5400)),
        ('latency_p50{service="a\\"b\\\\c"} <= 1e-3 for 1d', Expression(
            "latency_p50", (Matcher("service", False, 'a"b\\c'),), "<=", 0.001, 86400)),
        ("outbox_lag_seconds{} == -1.5", Expression("outbox_lag_seconds", (), "==", -1.5, 0)),
        ("instance_down != 0 for 0s", Expression("instance_down", (), "!=", 0.0, 0)),
        ('error_rate{service="招聘"} > .5', Expression("error_rate", (Matcher("service", False, "招聘"),), ">", 0.5, 0)),
    ],
    ids=["error-rate", "latency", "instance-down", "outbox-lag", "breaker", "disk", "spaces-and-two-matchers",
         "escapes", "empty-selector", "not-equal", "unicode-value"],
)
def test_valid_expressions_parse_to_what_they_say(text: str, expected: Expression) -> None:
    parsed = parse(text)

    assert parsed == expected
    assert parse(str(parsed)) == parsed  # the canonical form reads back the same


@pytest.mark.parametrize(
    ("text", "column", "expected", "found"),
    [
        ("", 1, "a metric", "the end of the expression"),
        ("error_rat > 1", 1, "a metric", "'error_rat'"),
        ("  latency_p42 > 1", 3, "a metric", "'latency_p42'"),
        ('error_rate{servic="x"} > 1', 12, "a label of error_rate (service)", "'servic'"),
        ('error_rate{service=x} > 1', 20, "a double-quoted string", "'x'"),
        ('error_rate{service~"x"} > 1', 19, "'=' or '!='", "'~'"),
        ('error_rate{service="crm" > 0.05', 26, "',' or '}'", "'>'"),
        ('error_rate{service="crm} > 1', 20, "a closing '\"'", "the end of the expression"),
        ('error_rate{service="a\\q"} > 1', 22, "an escape", "'\\\\'"),
        ('error_rate{service="a", service="b"} > 1', 25, "each label at most once", "'service'"),
        ('outbox_lag_seconds{service="crm"} > 1', 20, "'}' (outbox_lag_seconds has no labels)", "'service'"),
        ('instance_down{path="/"} > 0', 15, "a label of instance_down (service, instance)", "'path'"),
        ("error_rate 0.05", 12, "a comparison", "'0.05'"),
        ("error_rate => 0.05", 12, "a comparison", "'='"),
        ("error_rate >", 13, "a number", "the end of the expression"),
        ("error_rate > high", 14, "a number", "'high'"),
        ("error_rate > 0.05for 2m", 14, "a number", "'0.05for'"),
        ("error_rate > 1e999", 14, "a finite number", "'1e999'"),
        ("error_rate > 0.05 fr 2m", 19, "'for' or the end", "'fr'"),
        ("error_rate > 0.05 for", 22, "a duration", "the end of the expression"),
        ("error_rate > 0.05 for 2", 23, "a duration", "'2'"),
        ("error_rate > 0.05 for 2w", 23, "a duration", "'2w'"),
        ("error_rate > 0.05 for 2m30", 25, "a duration", "'30'"),
        ("error_rate > 0.05 for 8d", 23, "a duration of at most 7d", "'8d'"),
        ("error_rate > 0.05 for 2m and more", 26, "the end of the expression", "'and'"),
        ("error_rate > 0.05 # note", 19, "'for' or the end", "'#'"),
    ],
    ids=lambda value: str(value)[:24],
)
def test_invalid_expressions_name_the_column_and_what_was_expected(
    text: str, column: int, expected: str, found: str
) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(text)

    error = caught.value
    assert error.position == column - 1, str(error)
    assert error.expected.startswith(expected), str(error)
    assert error.found == found, str(error)
    assert str(error).startswith(f"at column {column}: expected ")


def test_a_very_long_expression_is_refused() -> None:
    with pytest.raises(RuleSyntaxError, match="at most 500 characters"):
        parse("error_rate > 1" + " " * 600)


def test_matchers_select_and_comparisons_hold() -> None:
    rule = parse('breaker_open{service!="chat", instance="crm@a:1"} > 0')

    assert rule.selects({"service": "crm", "instance": "crm@a:1"})
    assert not rule.selects({"service": "chat", "instance": "crm@a:1"})
    assert not rule.selects({"service": "crm", "instance": "crm@b:1"})
    assert rule.holds(1.0) and not rule.holds(0.0)
    assert not parse("error_rate != 0").holds(math.nan)  # a value that cannot be read never alerts
    assert parse("disk_free_ratio <= 0.1").holds(0.1)


def test_every_metric_declares_its_labels() -> None:
    assert set(METRICS) >= {"error_rate", "latency_p50", "latency_p95", "instance_down", "outbox_lag_seconds",
                            "breaker_open", "disk_free_ratio"}
    assert METRICS["instance_down"] == ("service", "instance")
    assert METRICS["disk_free_ratio"] == ()


def test_the_default_rules_parse_and_cover_every_kind_of_trouble(tmp_path: Path) -> None:
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test", database_url=None)  # type: ignore[call-arg]
    upgrade(settings.sqlalchemy_url)
    engine = sa.create_engine(settings.sqlalchemy_url.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(rules)).all()
    engine.dispose()

    parsed = {row.name: parse(row.expression) for row in stored}
    assert {expression.metric for expression in parsed.values()} == {
        "error_rate", "latency_p95", "instance_down", "outbox_lag_seconds", "breaker_open", "disk_free_ratio"}
    assert all(expression.for_seconds > 0 for expression in parsed.values())  # no default pages on one blip
    assert {row.severity for row in stored} <= {"info", "warning", "critical"}
    assert all(row.targets == ["*"] for row in stored)
