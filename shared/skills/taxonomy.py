"""The skills taxonomy: look skills up by id or by any name, fuzzily, or find them in free text.

Loaded from the packaged taxonomy.json.gz (built by scripts/build_skills_taxonomy.py) the first
time `load_taxonomy()` is called, then shared by the process. Nothing is read at import. The
extraction automaton and the fuzzy index are built on first use, since a service that only
normalises skill ids needs neither.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from shared.skills.mentions import AliasGuard, MentionFinder
from shared.skills.skill import Role, Skill, SkillMention, SkillRef, UnknownSkillId
from shared.skills.spelling import compact_key, has_cjk, match_key

FORMAT = 1
PACKAGED_FILE = "taxonomy.json.gz"
MAX_NAME_CHARS = 100  # a free-text skill longer than this is a sentence, not a skill
MAX_IMPLIED_DEPTH = 4
DEFAULT_FUZZY_CUTOFF = 80.0  # rapidfuzz ratio: "Pyhton" scores 83 against "python"
# A Chinese character says more than a letter: one wrong in four (机器学系) scores 75.
DEFAULT_FUZZY_CUTOFF_CJK = 70.0
MIN_FUZZY_KEY_CHARS = 3

# Words around a skill's name in a title or a form field: "Java工程师" and "senior Python
# developer" name Java and Python. Longest first, one of each at most.
_PREFIXES = ("资深", "高级", "中级", "初级", "senior ", "junior ", "lead ", "principal ", "staff ")
_SUFFIXES = tuple(sorted((
    "开发工程师", "工程师", "开发", "编程", "程序员", "技术", "框架", "经验", "能力", "知识",
    " developer", " engineer", " development", " programming", " programmer", " skills", " skill",
    " framework", " language", " experience",
), key=len, reverse=True))


class SkillTaxonomy:
    """The skills, indexed by id and by every alias key; methods taking an id raise UnknownSkillId
    for one it does not hold, methods taking a name return None or an empty list."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        if document.get("format") != FORMAT:
            raise ValueError(f"skills taxonomy format {document.get('format')!r}, expected {FORMAT}")
        self._skills: dict[str, Skill] = {}
        self._by_key: dict[str, Skill] = {}
        self._extract_keys: dict[str, str] = {}
        for record in document["skills"]:
            skill = _skill(record)
            self._skills[skill.id] = skill
            self._by_key.update(dict.fromkeys(skill.keys, skill))
            self._extract_keys.update(dict.fromkeys(record.get("extract", ()), skill.id))
        self._by_compact_key = _by_compact_key(self._by_key)
        self._roles = {record["id"]: _role(record) for record in document.get("roles", ())}
        self._roles_by_key = {key: self._roles[record["id"]] for record in document.get("roles", ())
                              for key in record["keys"]}
        self._guards = {key: AliasGuard(frozenset(rule.get("plain", ())), frozenset(rule.get("cued", ())))
                        for key, rule in document.get("guards", {}).items()}
        self._not_skills = tuple(document.get("not_skills", ()))
        self._lock = threading.Lock()
        self._finder: MentionFinder | None = None
        self._fuzzy_keys: list[str] | None = None

    @classmethod
    def from_file(cls, path: Path) -> SkillTaxonomy:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            return cls(json.load(file))

    def __len__(self) -> int:
        return len(self._skills)

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._skills

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills.values())

    @property
    def roles(self) -> tuple[Role, ...]:
        return tuple(self._roles.values())

    def get(self, skill_id: str) -> Skill | None:
        return self._skills.get(skill_id)

    def lookup(self, text: str) -> Skill | None:
        """The skill a name means, in English or Chinese, however it is cased, spaced or
        punctuated ("react.js", "ReactJS", "ｐｙｔｈｏｎ", "Java 开发", "Java工程师")."""
        key = match_key(text)
        if not key:
            return None
        found = self._exact(key)
        if found:
            return found
        for prefix in ("", *_PREFIXES):
            if prefix and not key.startswith(prefix):
                continue
            rest = key[len(prefix):].strip()
            if prefix and (found := self._exact(rest)):
                return found
            for suffix in _SUFFIXES:
                if rest.endswith(suffix) and len(rest) > len(suffix):
                    found = self._exact(rest[:-len(suffix)].strip())
                    if found:
                        return found
        return None

    def fuzzy(self, text: str, limit: int = 5, cutoff: float | None = None) -> list[tuple[Skill, float]]:
        """The skills whose names are closest to `text`, best first, scored 0-100 (rapidfuzz's
        ratio); for typos such as "Pyhton" or "Kubernets". An exact name scores 100. The default
        cutoff is 80, or 70 for a name holding Chinese."""
        key = match_key(text)
        if not key or limit < 1:
            return []
        if cutoff is None:
            cutoff = DEFAULT_FUZZY_CUTOFF_CJK if has_cjk(key) else DEFAULT_FUZZY_CUTOFF
        best: dict[str, float] = {}
        exact = self.lookup(text)
        if exact:
            best[exact.id] = 100.0
        keys = self._fuzzy_index()
        for choice, score, _ in process.extract(key, keys, scorer=fuzz.ratio, limit=limit * 4, score_cutoff=cutoff):
            skill = self._by_key[choice]
            best[skill.id] = max(best.get(skill.id, 0.0), round(score, 1))
        ranked = sorted(best.items(), key=lambda item: (-item[1], self._skills[item[0]].name.lower(), item[0]))
        return [(self._skills[skill_id], score) for skill_id, score in ranked[:limit]]

    def extract(self, text: str) -> list[SkillMention]:
        """Every skill named in `text`, in order, with `text[start:end] == mention.text`."""
        return self._mention_finder().find(text)

    def normalise(self, entry: str | Mapping[str, object]) -> SkillRef:
        """A skill as the CRM stores it, from `{"skill_id": ...}`, `{"name": ...}` or a bare string.

        A `skill_id` must be known (UnknownSkillId otherwise: the API answers 422). A name becomes
        the skill it names, or stays as free text with `known=False`. A bare string may be an id or
        a name.
        """
        if isinstance(entry, Mapping):
            skill_id = entry.get("skill_id")
            if skill_id is not None:
                skill = self._skills.get(skill_id) if isinstance(skill_id, str) else None
                if skill is None:
                    raise UnknownSkillId(str(skill_id))
                return SkillRef(skill.id, skill.name, True)
            name = entry.get("name")
            if not isinstance(name, str):
                raise ValueError("a skill needs a 'skill_id' or a 'name' (text)")
            return self._by_name(name, "name")
        if entry in self._skills:
            skill = self._skills[entry]
            return SkillRef(skill.id, skill.name, True)
        return self._by_name(entry, "skill")

    def related(self, skill_id: str) -> list[Skill]:
        return [self._skills[other] for other in self._known(skill_id).related]

    def implied(self, skill_id: str, depth: int = MAX_IMPLIED_DEPTH) -> list[Skill]:
        """What a holder of the skill also holds, nearest first: spring-boot gives spring, java,
        backend, then what those imply, up to `depth` steps (links may form cycles)."""
        seen = {skill_id}
        frontier = [self._known(skill_id)]
        found: list[Skill] = []
        for _ in range(max(0, min(depth, MAX_IMPLIED_DEPTH))):
            step = sorted({other for skill in frontier for other in skill.implies} - seen)
            seen.update(step)
            frontier = [self._skills[other] for other in step]
            found.extend(frontier)
        return found

    def category(self, skill_id: str) -> str:
        return self._known(skill_id).category

    def role(self, text: str) -> Role | None:
        """The job role a title names (产品经理, "Product manager"); roles are not skills."""
        return self._roles_by_key.get(match_key(text))

    def _exact(self, key: str) -> Skill | None:
        found = self._by_key.get(key)
        if found:
            return found
        compact = compact_key(key)
        found = self._by_compact_key.get(compact)
        if found is None and compact.endswith("js") and len(compact) > 2:
            found = self._by_compact_key.get(compact[:-2])  # "ReactJS" is React
        return found

    def _by_name(self, name: str, field: str) -> SkillRef:
        written = " ".join(name.split())
        if not written:
            raise ValueError(f"{field}: a skill name must not be empty")
        if len(written) > MAX_NAME_CHARS:
            raise ValueError(f"{field}: a skill name holds at most {MAX_NAME_CHARS} characters, not {len(written)}")
        skill = self.lookup(written)
        if skill:
            return SkillRef(skill.id, skill.name, True)
        return SkillRef(None, written, False)

    def _known(self, skill_id: str) -> Skill:
        skill = self._skills.get(skill_id)
        if skill is None:
            raise UnknownSkillId(skill_id)
        return skill

    def _mention_finder(self) -> MentionFinder:
        if self._finder is None:
            with self._lock:
                if self._finder is None:
                    skills = list(self._skills.values())
                    index = {skill.id: number for number, skill in enumerate(skills)}
                    self._finder = MentionFinder(
                        skills, {key: index[skill_id] for key, skill_id in self._extract_keys.items()},
                        self._guards, self._not_skills)
        return self._finder

    def _fuzzy_index(self) -> list[str]:
        if self._fuzzy_keys is None:
            with self._lock:
                if self._fuzzy_keys is None:
                    self._fuzzy_keys = sorted(key for key in self._by_key if len(key) >= MIN_FUZZY_KEY_CHARS)
        return self._fuzzy_keys


@lru_cache(maxsize=4)
def load_taxonomy(path: Path | None = None) -> SkillTaxonomy:
    """The taxonomy, read once per process (per path): the packaged file unless `path` is given."""
    if path is not None:
        return SkillTaxonomy.from_file(path)
    with resources.as_file(resources.files("shared.skills") / PACKAGED_FILE) as packaged:
        return SkillTaxonomy.from_file(packaged)


def _skill(record: Mapping[str, Any]) -> Skill:
    return Skill(
        id=record["id"], name=record["name"], name_zh=record.get("name_zh"), kind=record.get("kind", "skill"),
        category=record["category"], aliases=tuple(record.get("aliases", ())), keys=tuple(record.get("keys", ())),
        related=tuple(record.get("related", ())), implies=tuple(record.get("implies", ())),
        sources=tuple(record.get("sources", ())),
    )


def _role(record: Mapping[str, Any]) -> Role:
    return Role(id=record["id"], name=record["name"], name_zh=record.get("name_zh"),
                aliases=tuple(record.get("aliases", ())), skills=tuple(record.get("skills", ())))


def _by_compact_key(by_key: Mapping[str, Skill]) -> dict[str, Skill]:
    """Compact keys that lead to one skill only: "spring-boot" and "springboot" both do, while a
    compact key two skills would share is left out rather than given to either."""
    owners: dict[str, Skill | None] = {}
    for key, skill in by_key.items():
        compact = compact_key(key)
        if owners.setdefault(compact, skill) is not skill:
            owners[compact] = None
    return {compact: skill for compact, skill in owners.items() if skill is not None}
