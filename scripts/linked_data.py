"""Generated linked tables with known correlations, for the multi-table tests and benchmarks.

``patients`` (age, sex, income) have ``visits`` (cost, kind, urgent) whose number grows with age
and whose cost grows with the patient's age and with the visit kind; ``regions`` sit above the
patients (3 levels) and ``doctors`` are a second parent of the visits. Every dependence crosses a
link, so a method that loses the link structure shows it in the metrics across links.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = np.array(["routine", "imaging", "surgery", "lab"], dtype=object)


def hospital(
    n_patients: int,
    mean_visits: float = 3.0,
    *,
    seed: int = 0,
    n_regions: int = 0,
    n_doctors: int = 0,
    childless_share: float = 0.0,
) -> dict[str, pd.DataFrame]:
    """Patients and their visits (plus regions above and doctors beside, when asked).

    Args:
        n_patients: Rows of ``patient``.
        mean_visits: Mean visits per patient (the count grows with age).
        seed: Seed of the generator.
        n_regions: If > 0, a ``region`` table the patients belong to (``r_id``).
        n_doctors: If > 0, a ``doctor`` table each visit also points to (``d_id``).
        childless_share: Share of patients with no visit at all.

    Returns:
        ``{"patient": ..., "visit": ..., ["region": ...], ["doctor": ...]}`` with keys ``p_id``,
        ``visit_id``, ``r_id``, ``d_id``.
    """
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n_patients).round(1)
    sex = rng.choice(np.array(["F", "M"], dtype=object), n_patients)
    income = np.exp(rng.normal(9.5 + 0.01 * (age - 50), 0.4)).round(0)
    patients = pd.DataFrame(
        {"p_id": np.arange(1000, 1000 + n_patients), "age": age, "sex": sex, "income": income}
    )
    rate = mean_visits * (0.3 + 1.4 * (age - 18) / 72)
    counts = rng.poisson(rate)
    counts = np.maximum(counts, 1)
    if childless_share > 0:
        counts[rng.random(n_patients) < childless_share] = 0
    owner = np.repeat(np.arange(n_patients), counts)
    n_visits = len(owner)
    visit_age = age[owner]
    kind_p = np.column_stack(
        [
            np.full(n_visits, 0.5),
            0.1 + 0.004 * (visit_age - 18),
            0.05 + 0.004 * (visit_age - 18),
            np.full(n_visits, 0.2),
        ]
    )
    kind_p /= kind_p.sum(axis=1, keepdims=True)
    kind = KINDS[(rng.random(n_visits)[:, None] > np.cumsum(kind_p, axis=1)).sum(axis=1)]
    surcharge = np.select([kind == "surgery", kind == "imaging"], [900.0, 250.0], 0.0)
    cost = (40 + 3 * visit_age + surcharge + rng.normal(0, 30, n_visits)).round(2)
    urgent = rng.random(n_visits) < np.where(sex[owner] == "M", 0.25, 0.15)
    visits = pd.DataFrame(
        {
            "visit_id": rng.permutation(n_visits) + 10 * n_visits,
            "p_id": patients["p_id"].to_numpy()[owner],
            "cost": cost,
            "kind": kind,
            "urgent": urgent,
        }
    )
    tables = {"patient": patients, "visit": visits}
    if n_regions > 0:
        density = rng.uniform(10, 1000, n_regions).round(0)
        weights = density / density.sum()
        region_of = rng.choice(n_regions, n_patients, p=weights)
        patients["r_id"] = region_of + 1
        tables["region"] = pd.DataFrame(
            {
                "r_id": np.arange(1, n_regions + 1),
                "density": density,
                "coastal": rng.random(n_regions) < 0.3,
            }
        )
    if n_doctors > 0:
        seniority = rng.uniform(1, 40, n_doctors).round(0)
        specialty = rng.choice(np.array(["gp", "surgeon"], dtype=object), n_doctors, p=[0.7, 0.3])
        surgeon = specialty == "surgeon"
        by_kind = np.where(kind == "surgery", 1, 0)
        doctor = np.empty(n_visits, dtype=np.int64)
        for flag in (0, 1):
            pool = np.flatnonzero(surgeon == bool(flag))
            rows = np.flatnonzero(by_kind == flag)
            doctor[rows] = rng.choice(pool, len(rows))
        visits["d_id"] = doctor + 500
        tables["doctor"] = pd.DataFrame(
            {
                "d_id": np.arange(500, 500 + n_doctors),
                "seniority": seniority,
                "specialty": specialty,
            }
        )
    return tables
