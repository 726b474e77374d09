"""Ranking one job against many talents at once.

`TalentMatrix` holds what scoring reads of every talent as numpy columns: years, education level
and field bits, place codes, salary ask, activity time, embeddings, and two inverted lists (which
talents hold each skill, with strength, level and years; which talents' titles hold each term).
`rank` scores every talent on every dimension with array operations (a skill requirement reads
only the lists of the skills that stand for it), keeps the best `top_k`, and scores only those
again one by one with `score.score` to write their explanations. Both paths use the same
formulas (the dimension modules take numbers or arrays), so a talent gets the same score either
way; the returned scores are the pair path's.

The matrix is built once and kept: `upsert` and `remove` change it in place. Removed rows stay
as dead rows until a quarter of the matrix is dead, then it is compacted; new skill entries wait
in a small side list until they reach a twentieth of the main one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ai_services.matching_service.scoring.education import combine as education_combine
from ai_services.matching_service.scoring.education import field_fit, field_mask, level_fit
from ai_services.matching_service.scoring.experience import combine as experience_combine
from ai_services.matching_service.scoring.experience import years_fit
from ai_services.matching_service.scoring.filters import HardFilters
from ai_services.matching_service.scoring.location import location_fit_codes
from ai_services.matching_service.scoring.profiles import JobProfile, TalentProfile
from ai_services.matching_service.scoring.recency import recency_fit
from ai_services.matching_service.scoring.salary import ask_of, offer_of, salary_fit
from ai_services.matching_service.scoring.score import Match, score
from ai_services.matching_service.scoring.semantic import semantic_fit
from ai_services.matching_service.scoring.skills import HOLDS, Column, skills_fit_columns, sources
from ai_services.matching_service.scoring.titles import SAME_AREA, SAME_ROLE, split_terms
from ai_services.matching_service.scoring.weights import DEFAULT_WEIGHTS, DIMENSIONS, Weights

DEAD_SHARE_TO_COMPACT = 0.25
PENDING_SHARE_TO_MERGE = 0.05


class _Postings:
    """For each key (a skill id, a title term, a country), the rows holding it, with values."""

    def __init__(self, value_types: Sequence[Any] = ()) -> None:
        self._types = tuple(value_types)
        self._codes: dict[str, int] = {}
        self._rows = np.zeros(0, np.int32)
        self._values = [np.zeros(0, t) for t in self._types]
        self._bounds = np.zeros(1, np.int64)  # key code k lives in [bounds[k], bounds[k + 1])
        self._pending: dict[int, list[tuple[Any, ...]]] = {}
        self._pending_count = 0

    def add(self, row: int, key: str, *values: Any) -> None:
        code = self._codes.setdefault(key, len(self._codes))
        self._pending.setdefault(code, []).append((row, *values))
        self._pending_count += 1

    def column(self, key: str) -> tuple[np.ndarray, ...] | None:
        code = self._codes.get(key)
        if code is None:
            return None
        parts: list[np.ndarray] = []
        if code + 1 < len(self._bounds):
            start, end = self._bounds[code], self._bounds[code + 1]
            parts = [self._rows[start:end], *(v[start:end] for v in self._values)]
        waiting = self._pending.get(code)
        if waiting:
            extra = [np.array(column, dtype=t) for column, t in
                     zip(zip(*waiting, strict=True), (np.int32, *self._types), strict=True)]
            parts = [np.concatenate([a, b]) for a, b in zip(parts, extra, strict=True)] if parts else extra
        if not parts or not len(parts[0]):
            return None
        return tuple(parts)

    def settle(self) -> None:
        """Fold the side list into the sorted arrays once it has grown past its share."""
        if self._pending_count > max(1_000, PENDING_SHARE_TO_MERGE * len(self._rows)):
            self.merge()

    def merge(self, keep: np.ndarray | None = None) -> None:
        """Sort everything into the main arrays; with `keep` (old row -> new row, -1 dropped),
        renumber rows and drop the dead."""
        codes = np.repeat(np.arange(len(self._bounds) - 1, dtype=np.int32), np.diff(self._bounds))
        rows, values = self._rows, self._values
        if self._pending:
            flat = [(code, *entry) for code, entries in self._pending.items() for entry in entries]
            columns = list(zip(*flat, strict=True))
            codes = np.concatenate([codes, np.array(columns[0], np.int32)])
            rows = np.concatenate([rows, np.array(columns[1], np.int32)])
            values = [np.concatenate([v, np.array(c, t)]) for v, c, t in zip(values, columns[2:], self._types,
                                                                              strict=True)]
        if keep is not None:
            rows = keep[rows]
            alive = rows >= 0
            codes, rows, values = codes[alive], rows[alive], [v[alive] for v in values]
        order = np.lexsort((rows, codes))
        self._rows = rows[order].astype(np.int32)
        self._values = [v[order] for v in values]
        self._bounds = np.zeros(len(self._codes) + 1, np.int64)
        np.cumsum(np.bincount(codes, minlength=len(self._codes)), out=self._bounds[1:])
        self._pending, self._pending_count = {}, 0

    @property
    def nbytes(self) -> int:
        return self._rows.nbytes + sum(v.nbytes for v in self._values) + self._bounds.nbytes


class TalentMatrix:
    """Every talent's scoring facts as columns, for `rank`. Build it with `TalentMatrix.build`."""

    def __init__(self) -> None:
        self._profiles: list[TalentProfile | None] = []
        self._row_of: dict[str, int] = {}
        self._codes: dict[str, int] = {}  # cities, regions, countries and currencies, prefixed
        self._skills = _Postings((np.float64, np.int8, np.float64))
        self._terms = _Postings()
        self._authorised = _Postings()
        self._buffer: np.ndarray | None = None  # embeddings, with spare rows to grow into
        names = ("years", "level", "fields", "city", "region", "country", "relocates", "remote_ok", "ask",
                 "currency", "active_at", "has_skills", "has_titles", "alive", "has_vector")
        self._columns: dict[str, np.ndarray] = {name: np.zeros(0, _DTYPES[name]) for name in names}

    @classmethod
    def build(cls, talents: Iterable[TalentProfile], vectors: Any = None) -> TalentMatrix:
        """A matrix of `talents`; `vectors` (one row per talent, or None) are their embeddings."""
        matrix = cls()
        matrix.upsert(list(talents), vectors)
        return matrix

    def __len__(self) -> int:
        return int(self._columns["alive"].sum())

    @property
    def size(self) -> int:
        """Rows, dead ones included."""
        return len(self._profiles)

    @property
    def nbytes(self) -> int:
        """Bytes held in numpy arrays (the profiles kept for explanations are on top of this)."""
        arrays = sum(column.nbytes for column in self._columns.values())
        vectors = self._buffer.nbytes if self._buffer is not None else 0
        return arrays + vectors + self._skills.nbytes + self._terms.nbytes + self._authorised.nbytes

    def profile(self, row: int) -> TalentProfile | None:
        return self._profiles[row]

    def vector(self, row: int) -> np.ndarray | None:
        if self._buffer is None or not self._columns["has_vector"][row]:
            return None
        return self._buffer[row]

    @property
    def _vectors(self) -> np.ndarray | None:
        return None if self._buffer is None else self._buffer[:self.size]

    def upsert(self, talents: Sequence[TalentProfile], vectors: Any = None) -> None:
        """Add talents, replacing any already held under the same id. `vectors`: one row per talent
        (a row of NaN, or None for the whole batch, when there is none)."""
        talents = list(talents)
        ids = [t.id for t in talents if t.id is not None]
        if len(ids) != len(set(ids)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"talents: each id once per upsert; repeated: {', '.join(twice[:5])}")
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(talents):
                raise ValueError(f"vectors: one row per talent expected, got shape {vectors.shape}")
        self.remove(t.id for t in talents if t.id is not None)
        first = len(self._profiles)
        rows: dict[str, list[Any]] = {name: [] for name in self._columns}
        for offset, talent in enumerate(talents):
            row = first + offset
            self._profiles.append(talent)
            if talent.id is not None:
                self._row_of[talent.id] = row
            self._add_row(rows, row, talent)
        for name, values in rows.items():
            if name == "has_vector":
                continue
            self._columns[name] = np.concatenate([self._columns[name], np.array(values, dtype=_DTYPES[name])])
        self._add_vectors(vectors, len(talents))
        for postings in (self._skills, self._terms, self._authorised):
            postings.settle()
        if first == 0:
            for postings in (self._skills, self._terms, self._authorised):
                postings.merge()

    def remove(self, talent_ids: Iterable[str]) -> int:
        """Drop talents by id; returns how many were held."""
        removed = 0
        alive = self._columns["alive"]
        for talent_id in talent_ids:
            row = self._row_of.pop(talent_id, None)
            if row is not None:
                alive[row] = False
                self._profiles[row] = None
                removed += 1
        if removed and (self.size - len(self)) > DEAD_SHARE_TO_COMPACT * self.size:
            self._compact()
        return removed

    def scores(self, job: JobProfile, weights: Weights = DEFAULT_WEIGHTS, job_vector: Any = None,
               now: float | None = None) -> np.ndarray:
        """The match score of every row (dead rows too; callers mask them)."""
        skip = {name for name in DIMENSIONS if getattr(weights, name) == 0}  # adds 0 to both sums
        found = self.dimension_scores(job, job_vector, time.time() if now is None else now, skip)
        total_weight = np.zeros(self.size)
        total = np.zeros(self.size)
        for name in DIMENSIONS:
            if name in skip:
                continue
            known = ~np.isnan(found[name])
            weight = getattr(weights, name)
            total_weight = total_weight + np.where(known, weight, 0.0)
            total = total + np.where(known, weight * np.nan_to_num(found[name]), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            combined = np.clip(total / total_weight, 0.0, 1.0)
        return np.where(total_weight > 0, combined, 0.0)

    def dimension_scores(self, job: JobProfile, job_vector: Any, now: float,
                         skip: frozenset[str] | set[str] = frozenset()) -> dict[str, np.ndarray]:
        """Each dimension's score for every row, NaN where unknown (and for those in `skip`)."""
        c, n = self._columns, self.size
        unknown = np.full(n, np.nan)
        found: dict[str, np.ndarray] = dict.fromkeys(skip, unknown)
        if "semantic" not in skip:
            found["semantic"] = self._semantic(job_vector)
        if "skills" not in skip:
            found["skills"] = np.where(c["has_skills"], skills_fit_columns(job, self._skill_column, n), np.nan) \
                if job.requirements else unknown
        if "experience" not in skip:
            has_range = bool(job.min_years) or job.max_years is not None
            years = years_fit(c["years"], job.min_years, job.max_years) if has_range else unknown
            found["experience"] = experience_combine(years, self._title_fit(job))
        if "education" not in skip:
            level = np.where(c["level"] >= 0, level_fit(np.maximum(c["level"], 0), job.education_level), np.nan) \
                if job.education_level else unknown
            field = np.where(c["fields"] > 0, field_fit(c["fields"], job.fields), np.nan) if job.fields else unknown
            found["education"] = education_combine(level, field)
        if "location" not in skip:
            found["location"] = self._location(job)
        if "salary" not in skip:
            found["salary"] = self._salary(job)
        if "recency" not in skip:
            found["recency"] = recency_fit(c["active_at"], now)
        return found

    def passes(self, job: JobProfile, filters: HardFilters | None) -> np.ndarray:
        """Live rows that pass the hard filters (the same rules as filters.failed_filters)."""
        c = self._columns
        keep = c["alive"].copy()
        if filters is None or not filters.active:
            return keep
        if filters.must_have_skills:
            for requirement in job.requirements:
                if not requirement.required:
                    continue
                holds = np.zeros(self.size, bool)
                for source in sources(requirement.skill_id):
                    if source.how in HOLDS and (column := self._skills.column(source.skill_id)) is not None:
                        holds[column[0]] = True
                keep &= holds
        if filters.locations:
            places = filters.places()
            inside = np.isin(c["city"], self._known_codes("city", (p.city for p in places)))
            if filters.same_region:
                regions = self._known_codes("region", (p.region for p in places if p.region))
                inside |= np.isin(c["region"], regions) & (c["region"] >= 0)
            if filters.admits_remote():
                inside |= c["remote_ok"]
            keep &= inside
        if filters.work_authorisation:
            authorised = np.zeros(self.size, bool)
            if (column := self._authorised.column(filters.work_authorisation.upper())) is not None:
                authorised[column[0]] = True
            keep &= authorised
        if filters.salary_ceiling is not None:
            currency = self._codes.get("currency:" + filters.salary_ceiling.currency.upper(), -2)
            keep &= ~((c["currency"] == currency) & (c["ask"] > filters.salary_ceiling.monthly()))
        return keep

    # --- building --------------------------------------------------------------------------
    def _add_row(self, rows: dict[str, list[Any]], row: int, talent: TalentProfile) -> None:
        place = talent.place
        rows["years"].append(np.nan if talent.years is None else talent.years)
        rows["level"].append(-1 if talent.education_level is None else talent.education_level)
        rows["fields"].append(field_mask(talent.education_fields))
        rows["city"].append(self._code("city", place.city if place else None))
        rows["region"].append(self._code("region", place.region if place else None))
        rows["country"].append(self._code("country", place.country if place else None))
        rows["relocates"].append(talent.relocates)
        rows["remote_ok"].append(talent.remote_ok)
        rows["ask"].append(np.nan if talent.salary is None else ask_of(talent.salary))
        rows["currency"].append(self._code("currency", talent.salary.currency if talent.salary else None))
        rows["active_at"].append(np.nan if talent.active_at is None else talent.active_at)
        rows["has_skills"].append(talent.skills_known)
        rows["has_titles"].append(bool(talent.titles))
        rows["alive"].append(True)
        for evidence in talent.skills:
            years = np.nan if evidence.years is None else evidence.years
            self._skills.add(row, evidence.skill_id, evidence.strength, evidence.level, years)
        for term in talent.title_terms:
            self._terms.add(row, term)
        for country in talent.work_authorisations:
            self._authorised.add(row, country)

    def _add_vectors(self, vectors: np.ndarray | None, count: int) -> None:
        """Append `count` rows of embeddings (zeros where there are none) into the buffer, which
        grows by a quarter at a time so that small upserts do not copy every vector."""
        has = np.zeros(count, bool)
        if vectors is not None:
            vectors = np.nan_to_num(vectors)
            norms = np.linalg.norm(vectors, axis=1)
            has = norms > 0
            vectors = vectors / np.where(has, norms, 1.0)[:, None]
            if self._buffer is not None and self._buffer.shape[1] != vectors.shape[1]:
                raise ValueError(f"vectors: {vectors.shape[1]} dimensions, the matrix holds {self._buffer.shape[1]}")
        if vectors is not None or self._buffer is not None:
            width = vectors.shape[1] if vectors is not None else self._buffer.shape[1]  # type: ignore[union-attr]
            start = self.size - count
            if self._buffer is None or len(self._buffer) < self.size:
                grown = np.zeros((max(self.size, int(self.size * 1.25) + 1024) if self._buffer is not None
                                  else self.size, width), np.float32)
                if self._buffer is not None:
                    grown[:start] = self._buffer[:start]
                self._buffer = grown
            self._buffer[start:self.size] = vectors if vectors is not None else 0.0
        self._columns["has_vector"] = np.concatenate([self._columns["has_vector"], has])

    def _compact(self) -> None:
        alive = self._columns["alive"]
        keep = np.full(self.size, -1, np.int64)
        keep[alive] = np.arange(int(alive.sum()))
        for name in self._columns:
            self._columns[name] = self._columns[name][alive]
        if self._buffer is not None:
            self._buffer = self._buffer[:len(alive)][alive].copy()
        self._profiles = [p for p, live in zip(self._profiles, alive, strict=True) if live]
        self._row_of = {p.id: row for row, p in enumerate(self._profiles) if p is not None and p.id is not None}
        for postings in (self._skills, self._terms, self._authorised):
            postings.merge(keep)

    def _code(self, kind: str, value: str | None) -> int:
        if value is None:
            return -1
        return self._codes.setdefault(f"{kind}:{value}", len(self._codes))

    def _known_codes(self, kind: str, values: Iterable[str | None]) -> list[int]:
        return [self._codes[key] for value in values if value and (key := f"{kind}:{value}") in self._codes]

    # --- dimensions ------------------------------------------------------------------------
    def _skill_column(self, skill_id: str) -> Column | None:
        return self._skills.column(skill_id)  # type: ignore[return-value]

    def _semantic(self, job_vector: Any) -> np.ndarray:
        if job_vector is None or self._vectors is None:
            return np.full(self.size, np.nan)
        query = np.asarray(job_vector, dtype=np.float64).ravel()
        norm = float(np.linalg.norm(query))
        if norm == 0.0 or query.shape[0] != self._vectors.shape[1]:
            return np.full(self.size, np.nan)
        cosines = (self._vectors @ (query / norm).astype(np.float32)).astype(np.float64)
        return np.where(self._columns["has_vector"], semantic_fit(cosines), np.nan)

    def _title_fit(self, job: JobProfile) -> np.ndarray:
        roles, areas, words = split_terms(job.title_terms)
        if not roles and not words:
            return np.full(self.size, np.nan)
        hits = np.zeros(self.size)
        for word in words:
            if (column := self._terms.column(word)) is not None:
                hits[column[0]] += 1.0
        fit = hits / len(words) if words else np.zeros(self.size)
        for area in areas:
            if (column := self._terms.column(area)) is not None:
                fit[column[0]] = np.maximum(fit[column[0]], SAME_AREA)
        for role in roles:
            if (column := self._terms.column(role)) is not None:
                fit[column[0]] = SAME_ROLE
        return np.where(self._columns["has_titles"], fit, np.nan)

    def _location(self, job: JobProfile) -> np.ndarray:
        if job.remote:
            return np.ones(self.size)
        if not job.places:
            return np.full(self.size, np.nan)
        c = self._columns
        return location_fit_codes(
            c["city"], c["region"], c["country"], c["relocates"],
            self._known_codes("city", (p.city for p in job.places)),
            self._known_codes("region", (p.region for p in job.places)),
            self._known_codes("country", (p.country for p in job.places)))

    def _salary(self, job: JobProfile) -> np.ndarray:
        if job.salary is None:
            return np.full(self.size, np.nan)
        c = self._columns
        same = c["currency"] == self._codes.get("currency:" + job.salary.currency, -2)
        return np.where(same & ~np.isnan(c["ask"]), salary_fit(c["ask"], offer_of(job.salary)), np.nan)


_DTYPES = {"years": np.float64, "level": np.int8, "fields": np.int32, "city": np.int32, "region": np.int32,
           "country": np.int32, "relocates": bool, "remote_ok": bool, "ask": np.float64, "currency": np.int32,
           "active_at": np.float64, "has_skills": bool, "has_titles": bool, "alive": bool, "has_vector": bool}


def rank(job: JobProfile, talents: Sequence[TalentProfile] | TalentMatrix, weights: Weights = DEFAULT_WEIGHTS,
         top_k: int = 50, talent_vectors: Any = None, job_vector: Any = None, filters: HardFilters | None = None,
         now: float | None = None, explain: bool = True) -> list[Match]:
    """The `top_k` talents for a job, best first, each a full `Match`. `talents` is a matrix kept
    by the caller or a sequence of profiles (built into a matrix for this call, with
    `talent_vectors` one row per profile). Ties keep the talents' order."""
    if top_k < 1:
        return []
    matrix = talents if isinstance(talents, TalentMatrix) else TalentMatrix.build(talents, talent_vectors)
    now = time.time() if now is None else now
    totals = matrix.scores(job, weights, job_vector, now)
    rows = np.flatnonzero(matrix.passes(job, filters))
    if len(rows) > top_k:
        # A margin beyond top_k, so that scores equal to the last place's are all considered.
        cut = np.argpartition(-totals[rows], top_k - 1)[:top_k]
        floor = totals[rows[cut]].min()
        rows = rows[totals[rows] >= floor - 1e-9]
    rows = rows[np.lexsort((rows, -totals[rows]))][:top_k]
    matches = [(score(matrix.profile(row), job, weights, matrix.vector(row), job_vector, explain, now), row)  # type: ignore[arg-type]
               for row in rows]
    matches.sort(key=lambda item: (-item[0].score, item[1]))
    return [match for match, _ in matches]
