"""Memory per warehouse version (issue 8 follow-up to the soak): does the app keep memory of old versions?

    nice -n 10 .venv/bin/python bench/memory_versions.py --warehouse /tmp/bench8/w5000000/warehouse.duckdb

Starts `./run.sh` on a copy of the warehouse (127.0.0.1), logs in `--sessions` protocol sessions
(`bench/load_ws.py`), and `--rounds` times: every session visits Cybercrime, Hennepteelt, Prioriteiten and
the dashboard, then a new warehouse version is published (a trivial write). Prints after each round the
RSS of the app and which warehouse files it holds open. Bounded: stops after the last round.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_scale import server_pid  # noqa: E402
from bench.load_ws import Session  # noqa: E402
from tests.e2e.browser import run_server  # noqa: E402
from veiligheid.warehouse import write_version  # noqa: E402

def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) // 1024
def files(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try: t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError: continue
        if ".duckdb" in t: out.append(os.path.basename(t))
    return sorted(out)

async def user(i, url, rounds, q):
    role = "wijkteam" if i % 2 == 0 else "analist"
    s = Session(url)
    await s.login(role)
    home = s.page_hash
    for r in range(rounds):
        await q[i].get()
        for page in ["Cybercrime: slachtofferprofielen", "Hennepteelt", "Prioriteiten per stadsdeel"]:
            took = await s.rerun(page_hash=s.pages[page])
            print(f"   session {i} {page[:12]}: {took:.2f} s, exceptions {s.exceptions} {s.last_exception[:150]}",
                  flush=True)
        await s.rerun(page_hash=home)
        q["done"].put_nowait(i)

async def main(url, wh, pid, n=4, rounds=8):
    q = {i: asyncio.Queue() for i in range(n)}; q["done"] = asyncio.Queue()
    tasks = [asyncio.create_task(user(i, url, rounds, q)) for i in range(n)]
    for r in range(rounds):
        for i in range(n): q[i].put_nowait(r)
        for i in range(n): await q["done"].get()
        print(r, "rss", rss(pid), "open duckdb files", files(pid), flush=True)
        with write_version(wh, keep=4) as w:
            w.con.execute("INSERT INTO quarantine (run_id, file) VALUES ('m', 'm')")
    await asyncio.gather(*tasks)

def cli() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench8"))
    args = ap.parse_args()
    root = args.out / "memory-versions"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with run_server(args.warehouse, root) as srv:
        pid = server_pid(root)
        asyncio.run(main(srv["url"], Path(srv["env"]["VEILIGHEID_WAREHOUSE"]), pid, args.sessions, args.rounds))
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
