"""Issue 8 profiling finding: hennep.repeat_flags loops over addresses (4.7 s per call at 5M incidents,
called twice per rerun of Hennepteelt). Proposed vectorised version, checked equal on the bench warehouses:

    .venv/bin/python bench/profile_hennep_repeat.py /tmp/bench8/w5000000/warehouse.duckdb
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def repeat_flags_fast(cases: pd.DataFrame) -> pd.Series:
    """True for a case at an adres_id that had a dismantling (by another case there) before this case's signal."""
    out = pd.Series(False, index=cases.index)
    has = cases["adres_id"].notna()
    if not has.any():
        return out
    c = cases.loc[has, ["adres_id", "signaaldatum", "ruimingsdatum"]]
    c = c.sort_values(["adres_id", "ruimingsdatum"], na_position="last", kind="mergesort")
    g = c.groupby("adres_id", sort=False)
    pos = g.cumcount().to_numpy()
    r = c["ruimingsdatum"]
    min1 = g["ruimingsdatum"].transform("first")             # earliest dismantling at the address
    min2 = r.where(pos == 1).groupby(c["adres_id"], sort=False).transform("max")  # second earliest
    other = min2.where(pos == 0, min1)                       # earliest dismantling of *another* case
    flag = (other < c["signaaldatum"]).fillna(False).astype(bool)
    out.loc[flag.index] = flag.to_numpy()
    return out


if __name__ == "__main__":
    from veiligheid import hennep as H
    from veiligheid.queries import _df
    from veiligheid.warehouse import connect_readonly
    for wh in sys.argv[1:]:
        con = connect_readonly(wh)
        H_repeat = H.repeat_flags
        H.repeat_flags = lambda df: pd.Series(False, index=df.index)
        cases = H.load_cases(con)           # normalised, without the flags
        H.repeat_flags = H_repeat
        t = time.perf_counter(); slow = H.repeat_flags(cases); ts = time.perf_counter() - t
        t = time.perf_counter(); fast = repeat_flags_fast(cases); tf = time.perf_counter() - t
        print(wh, len(cases), "repeat", int(slow.sum()), "equal", bool((slow == fast).all()), f"loop {ts:.2f}s vectorised {tf:.3f}s")
        # adversarial: ties, NaT, own dismantling before own signal
        d = pd.Timestamp
        t2 = pd.DataFrame({"adres_id": ["a", "a", "a", "b", "b", None, "c"],
                           "signaaldatum": [d("2024-01-01"), d("2024-03-01"), d("2024-03-01"), d("2024-05-01"), d("2024-01-01"), d("2024-01-01"), d("2024-02-01")],
                           "ruimingsdatum": [d("2024-02-01"), d("2024-02-01"), pd.NaT, d("2024-04-01"), d("2024-01-15"), d("2023-01-01"), d("2024-01-01")]})
        assert (H.repeat_flags(t2) == repeat_flags_fast(t2)).all(), (H.repeat_flags(t2).tolist(), repeat_flags_fast(t2).tolist())
        print("edge cases equal:", H.repeat_flags(t2).tolist())
