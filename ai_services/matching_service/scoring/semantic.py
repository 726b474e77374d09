"""The semantic dimension: the cosine of the talent's and the job's embeddings, mapped to 0-1.

The caller embeds both texts (the vector service, or `shared.embeddings`) and passes the
vectors; without either the dimension is unknown. Raw cosines of the default model
(multilingual-e5-small) sit in a narrow band, about 0.75 to 0.90 for a résumé against a job
description, so they are mapped through a logistic curve centred where related and unrelated
pairs part. CENTRE and WIDTH were read off the labelled evaluation set (docs/matching.md,
"Quality"): unrelated pairs sit around 0.80 and close ones from 0.84 up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CENTRE = 0.815
WIDTH = 0.02


def cosine(talent_vector: Any, job_vector: Any) -> float | None:
    """The cosine of two vectors, None when either is missing or all zeros."""
    if talent_vector is None or job_vector is None:
        return None
    a, b = np.asarray(talent_vector, dtype=np.float64).ravel(), np.asarray(job_vector, dtype=np.float64).ravel()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if a.shape != b.shape or norms == 0.0:
        return None
    return float(a @ b) / norms


def semantic_fit(cosines: Any) -> Any:
    """1 / (1 + exp(-(cos - CENTRE) / WIDTH)): 0.5 at the centre, 0.12 at 0.775, 0.88 at 0.855."""
    cosines = np.asarray(cosines, dtype=float)
    score = 1.0 / (1.0 + np.exp(-(cosines - CENTRE) / WIDTH))
    return score if score.ndim else float(score)
