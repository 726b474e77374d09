"""Build shared/skills/taxonomy.json.gz from the public skill sources and the curated layer.

    .venv/bin/python scripts/build_skills_taxonomy.py [SOURCE_DIR] [--output PATH]

SOURCE_DIR holds the files described in ../shared/data/SOURCES.md (default: ../shared/data/skills
beside the repository). The output is deterministic: the same inputs give the same bytes (sorted
JSON, gzip without a timestamp), so tests can check the packaged file against a rebuild.

What goes in:
- the curated layer (shared/skills/curated.py), first, so its ids, names and aliases win;
- O*NET technology examples that recruiters ask for: hot or in-demand ones, ones named by ten
  occupations or more, and the programming languages, frameworks, databases, cloud and developer
  tools of the development commodities; vendor prefixes ("Apache", "Microsoft") and trailing
  acronyms ("Structured query language SQL") give extra aliases;
- every ESCO digital skill, with the alternative labels that are synonyms (sharing a word or an
  acronym with the preferred label; ESCO also lists example products there, which are dropped),
  and an `implies` link to its broader ESCO skill when that is in the collection;
- THUOCL, only to confirm Chinese aliases (source "thuocl") and to add frequent forms such as
  "Linux系统" or "mysql数据库" as lookup aliases of a skill that is already known.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from shared.skills import curated  # noqa: E402
from shared.skills.spelling import compact_key, has_cjk, match_key  # noqa: E402

DEFAULT_SOURCES = REPO.parent / "shared" / "data" / "skills"
DEFAULT_OUTPUT = REPO / "shared" / "skills" / "taxonomy.json.gz"
FORMAT = 1

ESCO_FILE = "esco_digital_skills_en.csv"
ONET_FILE = "onet_technology_skills.txt"
TITLES_FILE = "onet_alternate_titles.txt"
THUOCL_FILE = "thuocl_it_zh.txt"

CREDITS = {
    "esco": "ESCO digital skills collection, European Commission (reuse with attribution)",
    "onet": "O*NET 29.2 Technology Skills and Alternate Titles, U.S. Department of Labor/ETA (CC BY 4.0)",
    "thuocl": "THUOCL IT lexicon, thunlp, Tsinghua University (MIT)",
}

# O*NET commodity titles: the category a kept example gets, and whether the title is one of the
# development commodities whose little-used examples are kept too (languages, frameworks, ...).
ONET_CATEGORIES: dict[str, str] = {
    "Object or component oriented development software": "software development",
    "Development environment software": "software development",
    "Compiler and decompiler software": "software development",
    "Graphical user interface development software": "software development",
    "Web platform development software": "backend",
    "Web page creation and editing software": "frontend",
    "Data base management system software": "database",
    "Data base user interface and query software": "database",
    "Object oriented data base management software": "database",
    "Data base reporting software": "database",
    "Cloud-based management software": "cloud",
    "Cloud-based data access and sharing software": "cloud",
    "Application server software": "backend",
    "Clustering software": "devops",
    "Configuration management software": "devops",
    "File versioning software": "devops",
    "Program testing software": "testing",
    "Operating system software": "operating system",
    "Business intelligence and data analysis software": "data/ML",
    "Data mining software": "data/ML",
    "Analytical or scientific software": "data/ML",
    "Enterprise application integration software": "backend",
    "Network monitoring software": "networking",
    "Switch or router software": "networking",
    "Transaction security and virus protection software": "security",
    "Network security or virtual private network VPN management software": "security",
    "Network security and virtual private network VPN equipment software": "security",
    "Graphics or photo imaging software": "design",
    "Video creation and editing software": "design",
    "Computer aided design CAD software": "design",
    "Computer aided manufacturing CAM software": "design",
    "Desktop publishing software": "design",
    "Music or sound editing software": "design",
    "Office suite software": "office",
    "Spreadsheet software": "office",
    "Word processing software": "office",
    "Presentation software": "office",
    "Electronic mail software": "office",
    "Calendar and scheduling software": "office",
    "Video conferencing software": "office",
    "Instant messaging software": "office",
    "Desktop communications software": "office",
    "Process mapping and design software": "office",
    "Project management software": "management",
}
DEVELOPMENT_COMMODITIES = frozenset({
    "Object or component oriented development software", "Development environment software",
    "Web platform development software", "Data base management system software",
    "Object oriented data base management software", "Cloud-based management software",
    "Cloud-based data access and sharing software", "Application server software",
    "Business intelligence and data analysis software", "Data mining software", "Program testing software",
    "Configuration management software", "File versioning software", "Operating system software",
    "Clustering software", "Compiler and decompiler software", "Graphical user interface development software",
})
ONET_MIN_OCCUPATIONS = 10  # named by this many occupations: a skill recruiters meet often
ONET_MIN_DEVELOPMENT_OCCUPATIONS = 3  # a longer development product name needs this many

VENDORS = (
    "Amazon Web Services", "The MathWorks", "Sun Microsystems", "Hewlett Packard", "Hewlett-Packard", "Red Hat",
    "Dassault Systemes", "Qlik Tech", "Wolfram Research", "Unity Technologies", "Unreal Technology",
    "National Instruments", "Wind River Systems", "Wind River", "Leica Geosystems", "Henry Schein",
    "Apache", "Microsoft", "Oracle", "Google", "Amazon", "IBM", "Adobe", "Autodesk", "Atlassian", "Apple", "Intuit",
    "Bentley", "ESRI", "Cisco", "Corel", "Embarcadero", "JetBrains", "HP", "StataCorp", "Tenable", "TechSmith",
    "LogMeIn", "Trimble", "Blackbaud", "SmugMug", "Insightful", "Maplesoft", "Mathsoft", "McNeel", "PTC", "Siemens",
    "Progress", "Quest", "Veritas", "Salesforce", "Salesforce.com", "SAP", "Meta", "Facebook", "Borland", "Symantec",
    "Teradata", "Informatica", "Talend", "Perforce", "Citrix", "VMware", "VMWare", "Eclipse", "Vector", "Portswigger",
)

# ESCO's broader concepts, by words in their labels, to a category.
ESCO_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("penetration testing", "security"), ("security", "security"), ("query languages", "database"),
    ("database", "database"), ("computer programming", "programming language"), ("web programming", "backend"),
    ("integrated development environment", "software development"), ("configuration management", "devops"),
    ("project management", "methodology"), ("mobile operating", "mobile"), ("game creation", "software development"),
    ("graphics editor", "design"), ("audio-visual", "design"), ("learning management", "business software"),
    ("data extraction", "big data"), ("style sheet", "frontend"), ("webcms", "backend"),
    ("software and applications", "software development"), ("marketing", "domain"), ("management", "management"),
)

THUOCL_MIN_FREQUENCY = 30
# A known Latin name followed by one of these in THUOCL ("Linux系统", "mysql数据库") is an alias.
THUOCL_SUFFIXES = ("开发工程师", "开发", "编程", "语言", "框架", "数据库", "脚本", "系统", "平台", "集群", "技术", "程序")
THUOCL_CATEGORIES = frozenset({"programming language", "framework", "frontend", "backend", "mobile", "database",
                               "big data", "cloud", "devops", "operating system", "data/ML", "testing"})

# Words ESCO altLabels share with preferred labels without being a sign of synonymy.
_FILLER_WORDS = frozenset({"of", "and", "the", "for", "in", "on", "to", "a", "an", "with", "software", "system",
                           "systems", "tool", "tools", "program", "programs", "application", "applications", "ict",
                           "use", "using", "types", "kinds", "range", "data", "digital"})
_ASPECT_WORDS = frozenset({"technique", "principle", "algorithm", "paradigm", "coding", "testing", "compiling",
                           "analysi", "practice", "aspect", "feature", "characteristic", "method", "type", "kind",
                           "knowledge", "development", "programming", "scripting", "concept", "process", "function",
                           "specification", "operation", "theory", "model", "application"})
_WORD = re.compile(r"[a-z0-9][a-z0-9+#]*")
_LOWER_WORD = re.compile(r"(?<![A-Za-z])[a-z][a-z'-]+")
_TITLE_WORD = re.compile(r"[A-Za-z][a-z'-]+")
_ENGLISH_ENDING = re.compile(r"(?:ing|ion|al|ics|ity|ware|ment)$")
_ACRONYM = re.compile(r"[A-Z][A-Za-z0-9+#/-]*")
_PLAIN_WORD = re.compile(r"[A-Z]?[a-z]+")
_LOOKUP_ONLY_SOURCE_KEYS = frozenset(match_key(name) for name in curated.SOURCE_LOOKUP_ONLY)


@dataclass
class Draft:
    id: str
    name: str
    category: str
    kind: str = "skill"
    name_zh: str | None = None
    aliases: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    extract: set[str] = field(default_factory=set)
    related: set[str] = field(default_factory=set)
    implies: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)


@dataclass
class OnetExample:
    name: str
    occupations: set[str] = field(default_factory=set)
    hot: bool = False
    in_demand: bool = False
    commodities: Counter[str] = field(default_factory=Counter)

    @property
    def commodity(self) -> str:
        return min(self.commodities.items(), key=lambda item: (-item[1], item[0]))[0]


class TaxonomyDraft:
    """The taxonomy while it is assembled: every key belongs to the first skill that claims it."""

    def __init__(self, common_words: frozenset[str]) -> None:
        self.skills: dict[str, Draft] = {}
        self.owner: dict[str, str] = {}
        self.compact_owner: dict[str, str] = {}
        self.common_words = common_words
        self.case_guards: dict[str, set[str]] = {}  # source words extracted only as written

    def add(self, draft: Draft) -> Draft:
        if draft.id in self.skills:
            raise ValueError(f"skill id {draft.id!r} defined twice")
        self.skills[draft.id] = draft
        return draft

    def claim(self, draft: Draft, form: str, *, extract: bool) -> bool:
        """Give `form` to `draft` unless another skill owns its key; True when `draft` has it."""
        key = match_key(form)
        if not key:
            return False
        owner = self.owner.setdefault(key, draft.id)
        if owner != draft.id:
            return False
        self.compact_owner.setdefault(compact_key(key), draft.id)
        if key not in draft.keys:  # one display form per key: "MySQL数据库", not also "mysql数据库"
            draft.aliases.append(form)
        draft.keys.add(key)
        if extract:
            draft.extract.add(key)
        return True

    def claim_source_form(self, draft: Draft, form: str, *, concise: bool = True) -> None:
        """Claim a name from ESCO or O*NET, extractable when safe, guarded by its writing when needed."""
        extract, writings = self.extractable_source_form(form) if concise else (False, set())
        key = match_key(form)
        # A key the curated layer (or an unguarded source name) brought in keeps its own rules.
        unguarded_before = key in self.owner and key not in self.case_guards
        if self.claim(draft, form, extract=extract) and extract and writings and not unguarded_before:
            self.case_guards.setdefault(key, set()).update(writings)

    def owner_of(self, *forms: str) -> str | None:
        """The skill that already has one of these names, spelled alike or differing only in
        spaces, dots and hyphens ("CA IDMS" and "CA-IDMS")."""
        keys = [match_key(form) for form in forms if form]
        for key in keys:
            if key in self.owner:
                return self.owner[key]
        for key in keys:
            if compact_key(key) in self.compact_owner:
                return self.compact_owner[compact_key(key)]
        return None

    def new_id(self, *names: str) -> str:
        """The first free slug among `names`, else the first one numbered."""
        slugs = [slug(name) for name in names if name]
        for candidate in slugs:
            if candidate not in self.skills:
                return candidate
        number = 2
        while f"{slugs[0]}-{number}" in self.skills:
            number += 1
        return f"{slugs[0]}-{number}"

    def extractable_source_form(self, form: str) -> tuple[bool, set[str]]:
        """Whether a name from ESCO or O*NET is safe to look for in running text, and the only
        writings in which it may be found there (none: any writing)."""
        key = match_key(form)
        if len(key) < 3 or has_cjk(key) or any(char in key for char in "()[]{}"):
            return False, set()
        if key in _LOOKUP_ONLY_SOURCE_KEYS:
            return False, set()
        words = key.split(" ")
        if len(words) > 1:
            return len(words) <= 6, set()
        if key.isdigit():
            return False, set()
        if _PLAIN_WORD.fullmatch(form):
            # "Eclipse" or "Maple" is a product only when written so, and not even then when it
            # is also an everyday word.
            if key in self.common_words:
                return False, set()
            return True, ({form, form.upper()} if form != key else set())
        if form.isupper() and form.isalpha():
            return True, {form, form.capitalize()}  # "COBOL", "Cobol"; never "com" in "gmail.com"
        return True, set()



def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("c++", "cpp").replace("+", "-plus").replace("#", "-sharp").replace("&", "-and-")
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text or "skill"


# --- reading the sources -------------------------------------------------------------------------


def read_onet(path: Path) -> dict[str, OnetExample]:
    examples: dict[str, OnetExample] = {}
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file, delimiter="\t"):
            name = row["Example"].strip()
            example = examples.setdefault(name, OnetExample(name))
            example.occupations.add(row["O*NET-SOC Code"])
            example.hot |= row["Hot Technology"] == "Y"
            example.in_demand |= row["In Demand"] == "Y"
            example.commodities[row["Commodity Title"]] += 1
    return examples


def read_esco(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return sorted(csv.DictReader(file), key=lambda row: (row["preferredLabel"].strip().lower(), row["conceptUri"]))


def read_thuocl(path: Path) -> dict[str, int]:
    terms: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].strip().isdigit():
            terms[parts[0].strip()] = int(parts[1])
    return terms


def read_titles(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as file:
        return {match_key(row["Alternate Title"]) for row in csv.DictReader(file, delimiter="\t")}


def common_english_words(esco: list[dict[str, str]], onet_path: Path, titles_path: Path) -> frozenset[str]:
    """Everyday English words: those ESCO writes in lower case and those of job and commodity titles.

    A product named by one of them ("Eclipse", "Maple", "Designer") is not looked for in free text.
    """
    words = set(curated.COMMON_WORDS)
    for row in esco:
        for text in (row["description"], row["preferredLabel"], row["altLabels"]):
            words.update(_LOWER_WORD.findall(text))
    for path, column in ((titles_path, "Alternate Title"), (onet_path, "Commodity Title")):
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file, delimiter="\t"):
                words.update(word.lower() for word in _TITLE_WORD.findall(row[column]))
    return frozenset(words)


# --- the forms a source name gives ---------------------------------------------------------------


@dataclass(frozen=True)
class OnetName:
    """The names one O*NET example yields: "Structured query language SQL software" gives
    base "Structured query language", acronym "SQL"; "Apache Kafka" gives without_vendor "Kafka"."""

    display: str
    base: str
    acronym: str
    without_vendor: str

    @property
    def id_source(self) -> str:
        """What the id is made from: the acronym people say ("svn", "j2ee"), else the name without
        its vendor ("solaris"), else the name."""
        if len(self.acronym) >= 3 and self.acronym.replace("-", "").replace("/", "").isalnum():
            return self.acronym
        return self.without_vendor or self.base

    def forms(self, original: str) -> list[str]:
        return list(dict.fromkeys(form for form in (self.display, original, self.base, self.acronym,
                                                    self.without_vendor) if form))


def onet_name(name: str, common_words: frozenset[str]) -> OnetName:
    trimmed = re.sub(r"\s+software$", "", name).strip() or name
    base, acronym = trimmed, ""
    inner = re.fullmatch(r"(.+?)\s*\(([^()]+)\)", trimmed)
    if inner:
        base, acronym = inner.group(1).strip(), inner.group(2).strip()
    else:
        words = trimmed.split(" ")
        last, rest = words[-1], strip_vendor(" ".join(words[:-1]))
        if (len(words) >= 3 and _ACRONYM.fullmatch(last) and sum(c.isupper() or c.isdigit() for c in last) >= 2
                and rest and rest[0].upper() == last[0]):
            base, acronym = " ".join(words[:-1]), last
    # "Alteryx software" shows as "Alteryx", but "Billing software" stays as it is.
    named = any(char.isupper() for char in base[1:]) or (
        " " not in base and base.lower() not in common_words and not _ENGLISH_ENDING.search(base))
    display = (f"{base} ({acronym})" if acronym else base) if named or acronym else name
    without_vendor = strip_vendor(base)
    if without_vendor == base or _everyday_phrase(without_vendor, common_words):
        without_vendor = ""  # "Oracle Database" is not every database, "Oracle Application Server" every server
    return OnetName(display, base, acronym, without_vendor)


def _everyday_phrase(text: str, common_words: frozenset[str]) -> bool:
    words = text.split(" ")
    return all(word.lower() in common_words and not any(char.isupper() or char.isdigit() for char in word[1:])
               for word in words)


def strip_vendor(name: str) -> str:
    for vendor in VENDORS:
        if name.startswith(vendor + " ") and len(name) > len(vendor) + 1:
            return name[len(vendor) + 1:]
    return name


def esco_synonyms(preferred: str, alt_labels: str) -> list[str]:
    """The altLabels that name the same thing: sharing a content word or an acronym with it."""
    preferred_words = _content_words(preferred)
    initials = "".join(word[0] for word in re.findall(r"[a-z0-9]+", preferred.lower()))
    compact_preferred = compact_key(match_key(preferred))
    kept = []
    for label in (part.strip() for part in alt_labels.split("|")):
        if not label or label == preferred:
            continue
        key = compact_key(match_key(label))
        if _content_words(label) & _ASPECT_WORDS - preferred_words:
            continue  # "Angular techniques and principles", "coding in Angular": aspects, not names
        if (_content_words(label) & preferred_words or key == initials or compact_preferred.startswith(key)
                or key.startswith(compact_preferred)):
            kept.append(label)
    return kept


def _content_words(text: str) -> set[str]:
    return {word.rstrip("s") for word in _WORD.findall(text.lower()) if word not in _FILLER_WORDS}


def esco_category(row: dict[str, str]) -> str:
    broader = row["broaderConceptPT"].lower()
    for words, category in ESCO_CATEGORIES:
        if words in broader:
            return category
    return "digital skill"


# --- assembling ----------------------------------------------------------------------------------


def add_curated(taxonomy: TaxonomyDraft) -> None:
    for item in curated.SKILLS:
        if item.category not in curated.CATEGORIES:
            raise ValueError(f"curated skill {item.id!r}: unknown category {item.category!r}")
        draft = taxonomy.add(Draft(item.id, item.name, item.category, item.kind, item.name_zh,
                                   implies=set(item.implies), related=set(item.related), sources={"curated"}))
        lookup_only = {match_key(form) for form in item.lookup}
        for form in (item.name, *item.en, *item.zh, *item.lookup):
            key = match_key(form)
            if not taxonomy.claim(draft, form, extract=key not in lookup_only):
                raise ValueError(f"curated alias {form!r} of {item.id!r} is already {taxonomy.owner[key]!r}'s")


def add_onet(taxonomy: TaxonomyDraft, examples: dict[str, OnetExample]) -> None:
    skipped = set(curated.SOURCE_SKIPS.get("onet", ()))
    for name in sorted(examples):
        example = examples[name]
        if name in skipped or not onet_kept(example, taxonomy.common_words):
            continue
        names = onet_name(name, taxonomy.common_words)
        # Only the full name, its base and its acronym join an existing skill; a name without its
        # vendor is too loose for that ("Cisco IOS" is not Apple's iOS).
        owner = taxonomy.owner_of(name, names.display, names.base, names.acronym)
        if owner is None:
            category = ONET_CATEGORIES.get(example.commodity, "software")
            owner = taxonomy.add(Draft(taxonomy.new_id(names.id_source, names.base), names.display, category)).id
        draft = taxonomy.skills[owner]
        draft.sources.add("onet")
        for form in names.forms(name):
            taxonomy.claim_source_form(draft, form)


def onet_kept(example: OnetExample, common_words: frozenset[str]) -> bool:
    if example.hot or example.in_demand or len(example.occupations) >= ONET_MIN_OCCUPATIONS:
        return True
    if example.commodity not in DEVELOPMENT_COMMODITIES:
        return False
    words = example.name.split(" ")
    generic = (len(words) > 1 and all(word == word.lower() for word in words[1:])) or (
        len(words) == 1 and example.name.lower() in common_words)
    return not generic and (len(words) <= 2 or len(example.occupations) >= ONET_MIN_DEVELOPMENT_OCCUPATIONS)


def add_esco(taxonomy: TaxonomyDraft, rows: list[dict[str, str]]) -> None:
    skipped = set(curated.SOURCE_SKIPS.get("esco", ()))
    by_uri: dict[str, str] = {}
    for row in rows:
        preferred = row["preferredLabel"].strip()
        if preferred in skipped:
            continue
        plain = re.sub(r"\s*\([^()]*\)$", "", preferred).strip()
        owner = taxonomy.owner_of(preferred, plain)
        concise = row["skillType"] == "knowledge" and len(plain.split()) <= 3
        if owner is None:
            owner = taxonomy.add(Draft(taxonomy.new_id(plain, preferred, f"{plain} esco"), preferred,
                                       esco_category(row))).id
        draft = taxonomy.skills[owner]
        draft.sources.add("esco")
        by_uri[row["conceptUri"]] = owner
        for form in dict.fromkeys((preferred, plain)):
            taxonomy.claim_source_form(draft, form, concise=concise)
        for label in esco_synonyms(preferred, row["altLabels"]):
            taxonomy.claim(draft, label, extract=False)
    for row in rows:
        child = by_uri.get(row["conceptUri"])
        for uri in row["broaderConceptUri"].split("|"):
            parent = by_uri.get(uri.strip())
            if child and parent and parent != child:
                taxonomy.skills[child].implies.add(parent)


def add_thuocl(taxonomy: TaxonomyDraft, terms: dict[str, int]) -> None:
    known = {match_key(term) for term in terms}
    for draft in taxonomy.skills.values():
        if any(has_cjk(form) and match_key(form) in known for form in draft.aliases):
            draft.sources.add("thuocl")
    suffixes = "|".join(THUOCL_SUFFIXES)
    pattern = re.compile(rf"([A-Za-z][A-Za-z0-9+#. ]*?)\s*(?:{suffixes})")
    for term in sorted(terms):
        match = pattern.fullmatch(term)
        if not match or terms[term] < THUOCL_MIN_FREQUENCY:
            continue
        owner = taxonomy.owner.get(match_key(match.group(1)))
        if (owner and taxonomy.skills[owner].category in THUOCL_CATEGORIES
                and taxonomy.claim(taxonomy.skills[owner], term, extract=False)):
            taxonomy.skills[owner].sources.add("thuocl")


def check_links(taxonomy: TaxonomyDraft) -> None:
    for draft in taxonomy.skills.values():
        for target in sorted(draft.implies | draft.related):
            if target not in taxonomy.skills:
                raise ValueError(f"skill {draft.id!r} links to unknown skill {target!r}")
        draft.implies.discard(draft.id)
        draft.related -= draft.implies | {draft.id}
    for draft in list(taxonomy.skills.values()):
        for target in draft.related:
            other = taxonomy.skills[target]
            if draft.id not in other.implies:
                other.related.add(draft.id)


def guards(taxonomy: TaxonomyDraft) -> dict[str, dict[str, object]]:
    rules: dict[str, dict[str, object]] = {}
    for key, forms in taxonomy.case_guards.items():
        rules[key] = {"plain": sorted(forms)}
    for form, guard in curated.GUARDS.items():
        key = match_key(form)
        if key not in taxonomy.owner:
            raise ValueError(f"guard for {form!r}: no skill has that alias")
        rules[key] = _compact({"plain": sorted(guard.plain), "cued": sorted(guard.cued)})
    # A Latin alias of one or two characters matches too much text to go unguarded.
    bare = sorted(f"{key!r} of {draft.id!r}" for draft in taxonomy.skills.values() for key in draft.extract
                  if not has_cjk(key) and len(key) <= 2 and key.isalnum() and key not in rules)
    if bare:
        raise ValueError(f"aliases too short to extract without a guard: {', '.join(bare)}")
    return rules


def not_skills(taxonomy: TaxonomyDraft) -> list[str]:
    keys = sorted({match_key(phrase) for phrase in curated.NOT_SKILLS})
    clashes = [key for key in keys if key in taxonomy.owner]
    if clashes:
        raise ValueError(f"NOT_SKILLS phrases that are skill aliases: {clashes}")
    return keys


def roles(taxonomy: TaxonomyDraft, titles: set[str]) -> list[dict[str, object]]:
    seen: dict[str, str] = {}
    result = []
    for role in curated.ROLES:
        forms = list(dict.fromkeys((role.name, *role.en, *role.zh)))
        for form in forms:
            key = match_key(form)
            if key in taxonomy.owner:
                raise ValueError(f"role alias {form!r} of {role.id!r} is also a skill alias")
            if seen.setdefault(key, role.id) != role.id:
                raise ValueError(f"role alias {form!r} of {role.id!r} is already {seen[key]!r}'s")
        for skill_id in role.skills:
            if skill_id not in taxonomy.skills:
                raise ValueError(f"role {role.id!r} points at unknown skill {skill_id!r}")
        name_zh = next((form for form in role.zh if not re.search(r"[A-Za-z0-9]", form)), None)
        sources = ["curated"] + (["onet"] if any(match_key(form) in titles for form in role.en) else [])
        result.append(_compact({"id": role.id, "name": role.name, "name_zh": name_zh, "aliases": forms,
                                "keys": sorted({match_key(form) for form in forms}), "skills": list(role.skills),
                                "sources": sources}))
    return result


def _compact(record: dict[str, object]) -> dict[str, object]:
    """Leave out empty fields: most source skills have no Chinese name, relations or guards."""
    return {name: value for name, value in record.items() if value not in (None, [], "")}


def build(source_dir: Path) -> bytes:
    paths = {name: source_dir / name for name in (ESCO_FILE, ONET_FILE, TITLES_FILE, THUOCL_FILE)}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"skill sources missing: {', '.join(missing)}")
    esco = read_esco(paths[ESCO_FILE])
    taxonomy = TaxonomyDraft(common_english_words(esco, paths[ONET_FILE], paths[TITLES_FILE]))
    add_curated(taxonomy)
    add_onet(taxonomy, read_onet(paths[ONET_FILE]))
    add_esco(taxonomy, esco)
    add_thuocl(taxonomy, read_thuocl(paths[THUOCL_FILE]))
    check_links(taxonomy)
    skills = [
        _compact({"id": d.id, "name": d.name, "name_zh": d.name_zh, "kind": d.kind, "category": d.category,
                  "aliases": d.aliases, "keys": sorted(d.keys), "extract": sorted(d.extract),
                  "related": sorted(d.related), "implies": sorted(d.implies), "sources": sorted(d.sources)})
        for d in sorted(taxonomy.skills.values(), key=lambda draft: draft.id)
    ]
    document = {
        "format": FORMAT,
        "credits": CREDITS,
        "inputs": {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sorted(paths.items())},
        "counts": {"skills": len(skills), "keys": sum(len(draft.keys) for draft in taxonomy.skills.values()),
                   "extractable_keys": sum(len(draft.extract) for draft in taxonomy.skills.values())},
        "skills": skills,
        "roles": roles(taxonomy, read_titles(paths[TITLES_FILE])),
        "guards": guards(taxonomy),
        "not_skills": not_skills(taxonomy),
    }
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as file:
        file.write(text.encode("utf-8"))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="?", type=Path, default=DEFAULT_SOURCES,
                        help=f"folder of the source files (default: {DEFAULT_SOURCES})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"where to write (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    data = build(args.sources)
    args.output.write_bytes(data)
    counts = json.loads(gzip.decompress(data))["counts"]
    print(f"{args.output}: {counts['skills']} skills, {counts['keys']} keys "
          f"({counts['extractable_keys']} extractable), {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
