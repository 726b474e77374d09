"""The alert rule grammar: one metric, optional label matchers, a comparison, an optional `for`.

    error_rate{service="crm"} > 0.05 for 2m
    latency_p95{service="gateway"} > 0.5
    instance_down > 0 for 30s
    outbox_lag_seconds > 60
    breaker_open{service!="chat"} > 0
    disk_free_ratio < 0.1

In full:

    expression := metric [ "{" [ matcher { "," matcher } [ "," ] ] "}" ] comparison number [ "for" duration ]
    matcher    := label ( "=" | "!=" ) string        string: double quotes, \\" and \\\\ escaped
    comparison := ">" | ">=" | "<" | "<=" | "==" | "!="
    duration   := { digits ( "d" | "h" | "m" | "s" ) }    at least one part, e.g. 90s, 2m, 1h30m

Each metric has a fixed set of labels (METRICS); a matcher on any other label is an error. The
parser is strict and names the column where it fails and what it expected there.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

METRICS: dict[str, tuple[str, ...]] = {
    "error_rate": ("service",),  # 5xx answers / all answers over the window, per service
    "latency_p50": ("service",),  # seconds, per service, over the window
    "latency_p95": ("service",),
    "latency_p99": ("service",),
    "instance_down": ("service", "instance"),  # 1 while an instance does not serve, else 0
    "breaker_open": ("service", "instance"),  # 1 while the gateway's breaker for an instance is open
    "outbox_lag_seconds": (),  # age of the oldest undelivered outbox event
    "disk_free_ratio": (),  # free / total bytes where the data directory lives
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}
DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
LONGEST_FOR = 7 * 86400
MAX_LENGTH = 500

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DURATION_PART = re.compile(r"([0-9]+)([dhms])")
_WORD = re.compile(r"[A-Za-z0-9_.]+")


class RuleSyntaxError(ValueError):
    """Where an expression stops making sense: `position` is a 0-based offset into the text."""

    def __init__(self, position: int, expected: str, found: str) -> None:
        self.position, self.expected, self.found = position, expected, found
        super().__init__(f"at column {position + 1}: expected {expected}, found {found}")


@dataclass(frozen=True)
class Matcher:
    label: str
    negated: bool
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        return (labels.get(self.label) == self.value) != self.negated

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{"!=" if self.negated else "="}"{escaped}"'


@dataclass(frozen=True)
class Expression:
    metric: str
    matchers: tuple[Matcher, ...]
    comparison: str
    threshold: float
    for_seconds: int

    def selects(self, labels: Mapping[str, str]) -> bool:
        return all(matcher.matches(labels) for matcher in self.matchers)

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and COMPARISONS[self.comparison](value, self.threshold)

    def __str__(self) -> str:
        selector = "{" + ", ".join(str(m) for m in self.matchers) + "}" if self.matchers else ""
        text = f"{self.metric}{selector} {self.comparison} {self.threshold:g}"
        return f"{text} for {format_duration(self.for_seconds)}" if self.for_seconds else text


def parse(text: str) -> Expression:
    """The expression `text` states, or RuleSyntaxError at the first place it does not parse."""
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(MAX_LENGTH, f"at most {MAX_LENGTH} characters", "more")
    return _Parser(text).expression()


def format_duration(seconds: int) -> str:
    parts = []
    for unit, size in DURATION_UNITS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    # --- the grammar, one method per production ---------------------------------------------

    def expression(self) -> Expression:
        start = self._skip()
        metric = self._ident("a metric (" + ", ".join(METRICS) + ")")
        if metric not in METRICS:
            raise RuleSyntaxError(start, "a metric (" + ", ".join(METRICS) + ")", repr(metric))
        self._skip()
        matchers = self._selector(metric) if self._peek("{") else ()
        comparison = self._comparison()
        threshold = self._number()
        for_seconds = 0
        self._skip()
        if self.pos < len(self.text):
            keyword_at = self.pos
            if self._ident("'for' or the end of the expression", quiet=True) != "for":
                raise RuleSyntaxError(keyword_at, "'for' or the end of the expression", self._found(keyword_at))
            for_seconds = self._duration()
            self._skip()
            if self.pos < len(self.text):
                raise RuleSyntaxError(self.pos, "the end of the expression", self._found(self.pos))
        return Expression(metric, matchers, comparison, threshold, for_seconds)

    def _selector(self, metric: str) -> tuple[Matcher, ...]:
        self.pos += 1  # "{"
        matchers: list[Matcher] = []
        allowed = METRICS[metric]
        while True:
            self._skip()
            if self._peek("}"):
                self.pos += 1
                return tuple(matchers)
            label_at = self.pos
            expected = (f"a label of {metric} ({', '.join(allowed)}) or '}}'" if allowed
                        else f"'}}' ({metric} has no labels)")
            label = self._ident(expected)
            if label not in allowed:
                raise RuleSyntaxError(label_at, expected, repr(label))
            if any(m.label == label for m in matchers):
                raise RuleSyntaxError(label_at, f"each label at most once; {label!r} is already matched", repr(label))
            self._skip()
            if self.text.startswith("!=", self.pos):
                negated, self.pos = True, self.pos + 2
            elif self._peek("="):
                negated, self.pos = False, self.pos + 1
            else:
                raise RuleSyntaxError(self.pos, "'=' or '!='", self._found(self.pos))
            matchers.append(Matcher(label, negated, self._string()))
            self._skip()
            if self._peek(","):
                self.pos += 1
            elif not self._peek("}"):
                raise RuleSyntaxError(self.pos, "',' or '}'", self._found(self.pos))

    def _comparison(self) -> str:
        self._skip()
        for symbol in (">=", "<=", "==", "!=", ">", "<"):
            if self.text.startswith(symbol, self.pos):
                self.pos += len(symbol)
                return symbol
        raise RuleSyntaxError(self.pos, "a comparison (>, >=, <, <=, ==, !=)", self._found(self.pos))

    def _number(self) -> float:
        self._skip()
        match = _NUMBER.match(self.text, self.pos)
        if match is None or self._word_continues(match.end()):
            raise RuleSyntaxError(self.pos, "a number", self._found(self.pos))
        value = float(match.group())
        if not math.isfinite(value):
            raise RuleSyntaxError(self.pos, "a finite number", repr(match.group()))
        self.pos = match.end()
        return value

    def _duration(self) -> int:
        self._skip()
        start, seconds = self.pos, 0
        while (match := _DURATION_PART.match(self.text, self.pos)) is not None:
            seconds += int(match.group(1)) * DURATION_UNITS[match.group(2)]
            self.pos = match.end()
        if self.pos == start or self._word_continues(self.pos):
            raise RuleSyntaxError(self.pos, "a duration such as 30s, 2m or 1h30m (units d, h, m, s)",
                                  self._found(self.pos))
        if seconds > LONGEST_FOR:
            raise RuleSyntaxError(start, "a duration of at most 7d", repr(self.text[start:self.pos]))
        return seconds

    def _string(self) -> str:
        self._skip()
        if not self._peek('"'):
            raise RuleSyntaxError(self.pos, 'a double-quoted string', self._found(self.pos))
        start, self.pos, chars = self.pos, self.pos + 1, []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(chars)
            if char == "\\":
                following = self.text[self.pos + 1:self.pos + 2]
                if following not in ('"', "\\"):
                    raise RuleSyntaxError(self.pos, 'an escape \\" or \\\\', self._found(self.pos))
                chars.append(following)
                self.pos += 2
                continue
            chars.append(char)
            self.pos += 1
        raise RuleSyntaxError(start, "a closing '\"' for this string", "the end of the expression")

    # --- scanning ------------------------------------------------------------------------------

    def _skip(self) -> int:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1
        return self.pos

    def _peek(self, char: str) -> bool:
        return self.text.startswith(char, self.pos)

    def _ident(self, expected: str, quiet: bool = False) -> str:
        self._skip()
        match = _IDENT.match(self.text, self.pos)
        if match is None:
            if quiet:
                return ""
            raise RuleSyntaxError(self.pos, expected, self._found(self.pos))
        self.pos = match.end()
        return match.group()

    def _word_continues(self, at: int) -> bool:
        return at < len(self.text) and (self.text[at].isalnum() or self.text[at] in "_.")

    def _found(self, at: int) -> str:
        if at >= len(self.text):
            return "the end of the expression"
        match = _WORD.match(self.text, at)
        return repr(match.group() if match else self.text[at])
