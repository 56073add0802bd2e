"""Issue 8 profiling finding: hennep.repeat_flags looped over addresses (4.7 s per call at 5M incidents,
called twice per rerun of Hennepteelt). It is vectorised now; this compares it with the old loop:

    .venv/bin/python bench/profile_hennep_repeat.py /tmp/bench8/w5000000/warehouse.duckdb
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def repeat_flags_loop(cases: pd.DataFrame) -> pd.Series:
    """The loop over addresses that hennep.repeat_flags replaced (kept here as the reference and the 'before')."""
    out = pd.Series(False, index=cases.index)
    has = cases["adres_id"].notna()
    for _addr, grp in cases[has].groupby("adres_id"):
        if len(grp) < 2:
            continue
        for i, row in grp.iterrows():
            earlier = grp["ruimingsdatum"].notna() & (grp["ruimingsdatum"] < row["signaaldatum"]) & (grp.index != i)
            out.at[i] = bool(earlier.any())
    return out


if __name__ == "__main__":
    from veiligheid import hennep as H
    from veiligheid.warehouse import connect_readonly
    for wh in sys.argv[1:]:
        con = connect_readonly(wh)
        H_repeat = H.repeat_flags
        H.repeat_flags = lambda df: pd.Series(False, index=df.index)
        cases = H.load_cases(con)           # normalised, without the flags
        H.repeat_flags = H_repeat
        t = time.perf_counter(); slow = repeat_flags_loop(cases); ts = time.perf_counter() - t
        t = time.perf_counter(); fast = H.repeat_flags(cases); tf = time.perf_counter() - t
        print(wh, len(cases), "repeat", int(slow.sum()), "equal", bool((slow == fast).all()), f"loop {ts:.2f}s vectorised {tf:.3f}s")
        # adversarial: ties, NaT, own dismantling before own signal
        d = pd.Timestamp
        t2 = pd.DataFrame({"adres_id": ["a", "a", "a", "b", "b", None, "c"],
                           "signaaldatum": [d("2024-01-01"), d("2024-03-01"), d("2024-03-01"), d("2024-05-01"), d("2024-01-01"), d("2024-01-01"), d("2024-02-01")],
                           "ruimingsdatum": [d("2024-02-01"), d("2024-02-01"), pd.NaT, d("2024-04-01"), d("2024-01-15"), d("2023-01-01"), d("2024-01-01")]})
        assert (repeat_flags_loop(t2) == H.repeat_flags(t2)).all(), (repeat_flags_loop(t2).tolist(), H.repeat_flags(t2).tolist())
        print("edge cases equal:", H.repeat_flags(t2).tolist())
