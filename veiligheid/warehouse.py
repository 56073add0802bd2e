"""One place that owns the warehouse file: schema, read-only connections and versioned writes.

DuckDB allows one read-write process or many read-only ones on a file, never both.
So a write never touches the file that readers have open:

* the writer (only ever the ingest or an areas load) takes an exclusive lock file,
  copies the current version to a temporary file (a reflink clone where the filesystem can,
  otherwise an in-kernel copy flushed to disk in the background) and applies its whole run there;
* on success it checkpoints, closes, and stores the result as ``<name>.versions/vNNNNNN.duckdb``,
  then swaps the warehouse path to it with an atomic ``os.replace`` of a hard link;
* on any failure (or a SIGKILL) the temporary file is simply abandoned: the
  warehouse path still points at the previous, complete version.

Readers open the path read-only; one that opened the old version keeps reading it
(the inode stays alive), the next one sees the new version. Never a half run.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import math
import os
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import duckdb_extension_spatial

SCHEMA_VERSION = 1
_SPATIAL = Path(duckdb_extension_spatial.__file__).resolve().parent / "extensions" / "v1.5.5" / "spatial.duckdb_extension"
_VERSION_RE = re.compile(r"^v(\d{6})\.duckdb$")


def load_spatial(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Load the spatial extension from the pinned wheel (no network, every connection)."""
    con.execute(f"LOAD '{_SPATIAL.as_posix()}'")
    return con


def ensure_spatial(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Load spatial on a connection that may not have it yet (writers load it only when needed:
    loading takes about half a second, and the weekly ingest does not need it)."""
    loaded = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'").fetchone()
    if not (loaded and loaded[0]):
        load_spatial(con)
    return con


def current_file(path: Path) -> Path:
    """The version file the warehouse path points at now (the path itself when there is none).

    DuckDB keeps one database instance per file path per process: connecting to the same path
    again while an older connection is open returns the *old* instance (the old version's data).
    Opening the version file itself gives every version its own path, so a new load shows.
    """
    for v in list_versions(Path(path)):
        if v.current:
            return v.path
    return Path(path)


def _open_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB on one version file, with a memory limit (`VEILIGHEID_READ_MEMORY_MB`).

    Each open version is its own DuckDB with its own buffer pool, and a read-only pool keeps every block it
    read until memory runs short (by default 80 % of the machine). The app holds two or three versions open
    around a weekly load (the cached one, the new one, one a long computation still reads): without a limit
    each kept up to the tables' size in memory (the 5M soak: ~300 MB per version).

    Above the limit a query spills to disk; DuckDB's default place for that is a folder beside the database
    file, here the versions folder, which the app must not write into. So each open version gets its own
    folder under the system's temporary directory (DuckDB removes its files there on close).
    Note: within one process DuckDB shares a database per file, so the same file cannot be opened at the same
    time with other settings (another limit): open version files only through this function."""
    from .config import SETTINGS, setting_number

    mb = setting_number("VEILIGHEID_READ_MEMORY_MB")
    if not math.isfinite(mb):  # "nan", "inf": the default, never a broken page
        mb = float(SETTINGS["VEILIGHEID_READ_MEMORY_MB"][0])
    mb = int(min(max(mb, 64), 1 << 20))  # at least 64 MB, at most 1 TB
    spill = Path(tempfile.gettempdir()) / f"veiligheid-duckdb-{os.getpid()}" / Path(path).name
    spill.parent.mkdir(mode=0o700, exist_ok=True)  # DuckDB creates only the last folder, and only when it spills
    return load_spatial(duckdb.connect(str(path), read_only=True,
                                       config={"memory_limit": f"{mb}MB", "temp_directory": str(spill)}))


def connect_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current version of the warehouse."""
    target = current_file(path)
    try:
        return _open_readonly(target)
    except duckdb.IOException:
        if target == Path(path):
            raise
        return _open_readonly(Path(path))  # pruned meanwhile: the path itself


@dataclass(frozen=True)
class Snapshot:
    """One published version, resolved once: `token` (as `version_token`) and that version's own file."""
    token: str
    file: Path


def snapshot(path: Path) -> Snapshot:
    """The current version, to pin for a whole page run.

    `version_token` read again for every query lets one run read the old version for its first queries
    and the new one for the rest when an ingest swaps in between (a mix). Resolving the version once
    per run and opening *that version's file* (never written again) keeps every query of the run on
    one version, and the token and the data can never disagree.
    """
    path = Path(path)
    token = version_token(path)
    if token == "missing":
        return Snapshot(token, path)
    return Snapshot(token, file_for_token(path, token) or path)


def file_for_token(path: Path, token: str) -> Path | None:
    """The version file whose identity is `token` (see `version_token`); None when it is gone (pruned)."""
    for p in [Path(path), *sorted(versions_dir(Path(path)).glob("v*.duckdb"), reverse=True)]:
        try:
            if version_token(p) == token and p != Path(path):
                return p
        except OSError:
            continue
    return Path(path) if version_token(Path(path)) == token else None


def connect_token(path: Path, token: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the version `token` names, so that the data always matches the cache key
    it is stored under (the current version when that one is gone)."""
    target = file_for_token(Path(path), token)
    if target is None:
        return connect_readonly(Path(path))
    try:
        return _open_readonly(target)
    except duckdb.IOException:
        return connect_readonly(Path(path))


def connect_snapshot(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    """A read-only connection to exactly the version of `snap` (see `snapshot`)."""
    return _open_readonly(snap.file)


def versions_dir(path: Path) -> Path:
    return path.with_name(path.name + ".versions")


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


FACT_COLUMNS_SQL = {
    "incidenten": """
        registratienummer VARCHAR NOT NULL, pleegdatum DATE, pleegtijd TIME, pleegmoment TIMESTAMP,
        registratiedatum DATE, soort_code VARCHAR, soort VARCHAR, status VARCHAR""",
    "registraties": """
        registratie_id VARCHAR NOT NULL, datum DATE, datum_tijd TIMESTAMP, bron VARCHAR, categorie VARCHAR,
        omschrijving VARCHAR""",
    "cyber_slachtoffers": """
        aangifte_id VARCHAR NOT NULL, aangiftedatum DATE, delict VARCHAR, leeftijd INTEGER, geboortejaar INTEGER,
        geslacht VARCHAR, opleidingsniveau VARCHAR, schadebedrag DOUBLE""",
    "hennep": """
        zaaknummer VARCHAR NOT NULL, signaaldatum DATE, signaalbron VARCHAR, ruimingsdatum DATE,
        aantal_planten INTEGER, type_pand VARCHAR, eigendom VARCHAR, stroomdiefstal BOOLEAN, besluit_13b VARCHAR,
        sluiting_begin DATE, sluiting_eind DATE, adres_id VARCHAR""",
}
PLACEMENT_COLUMNS_SQL = """
        x_rd DOUBLE, y_rd DOUBLE, lat DOUBLE, lon DOUBLE, input_buurtcode VARCHAR, input_wijkcode VARCHAR,
        buurtcode VARCHAR, wijkcode VARCHAR, gemeentecode VARCHAR"""
LINEAGE_COLUMNS_SQL = """
        bron_bestand VARCHAR NOT NULL, bron_week VARCHAR NOT NULL, bron_weeknr INTEGER NOT NULL,
        ingest_seq BIGINT NOT NULL, run_id VARCHAR NOT NULL, _hash UBIGINT NOT NULL"""

SCHEMA_SQL = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS buurten (
    buurtcode VARCHAR PRIMARY KEY, buurtnaam VARCHAR, wijkcode VARCHAR, gemeentecode VARCHAR,
    inwoners INTEGER, geom GEOMETRY, geom_rd GEOMETRY, wkb_rd BLOB);
CREATE TABLE IF NOT EXISTS wijken (
    wijkcode VARCHAR PRIMARY KEY, wijknaam VARCHAR, gemeentecode VARCHAR, gemeentenaam VARCHAR,
    stadsdeel VARCHAR, inwoners INTEGER, geom GEOMETRY);
CREATE TABLE IF NOT EXISTS buurt_grid (cell BIGINT, buurtcode VARCHAR);
CREATE TABLE IF NOT EXISTS wijk_kerncijfers (wijkcode VARCHAR, kenmerk VARCHAR, waarde DOUBLE);
CREATE TABLE IF NOT EXISTS soort_misdrijf (
    code VARCHAR PRIMARY KEY, omschrijving VARCHAR, thema VARCHAR, stadsbrede_prioriteit BOOLEAN,
    high_impact_crime BOOLEAN);
CREATE TABLE IF NOT EXISTS incidenten ({FACT_COLUMNS_SQL['incidenten']}, {PLACEMENT_COLUMNS_SQL}, {LINEAGE_COLUMNS_SQL});
CREATE TABLE IF NOT EXISTS registraties ({FACT_COLUMNS_SQL['registraties']}, {PLACEMENT_COLUMNS_SQL}, {LINEAGE_COLUMNS_SQL});
CREATE TABLE IF NOT EXISTS cyber_slachtoffers ({FACT_COLUMNS_SQL['cyber_slachtoffers']}, {PLACEMENT_COLUMNS_SQL}, {LINEAGE_COLUMNS_SQL});
CREATE TABLE IF NOT EXISTS hennep ({FACT_COLUMNS_SQL['hennep']}, {PLACEMENT_COLUMNS_SQL}, {LINEAGE_COLUMNS_SQL});
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, version INTEGER,
    files_loaded INTEGER, files_skipped INTEGER, files_refused INTEGER,
    rows_loaded BIGINT, rows_quarantined BIGINT);
CREATE TABLE IF NOT EXISTS ingest_files (
    run_id VARCHAR, file VARCHAR, kind VARCHAR, week VARCHAR, sha256 VARCHAR, status VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_new BIGINT, rows_replaced BIGINT,
    rows_unchanged BIGINT, rows_superseded BIGINT, location_disagreements BIGINT,
    ignored_columns VARCHAR[], reason VARCHAR, ingested_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR, file VARCHAR, kind VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR,
    reason VARCHAR, record VARCHAR);
"""


# Active incidents counted per day, area and theme: what the overview, Prioriteiten and the signals read, instead
# of scanning (and joining) every incident on each selection; ~6x fewer rows at worst (44 wijken x 17 themes a
# day), no join and no status filter at read time. Rebuilt from `incidenten` in every new version
# (`write_version`), so it can never disagree with the incidents of its version. Withdrawn incidents and soort
# codes outside soort_misdrijf are left out, as everywhere; `prio` is the theme's city-wide priority flag and
# n_hic the high impact crimes among n.
DAY_COUNTS = "incidenten_dag"
DAY_COUNTS_SELECT = """
    SELECT i.pleegdatum, i.buurtcode, i.wijkcode, s.thema, s.stadsbrede_prioriteit AS prio,
           count(*) AS n, count(*) FILTER (WHERE s.high_impact_crime) AS n_hic
    FROM incidenten i JOIN soort_misdrijf s ON s.code = i.soort_code
    WHERE coalesce(i.status, 'actief') <> 'vervallen'
    GROUP BY ALL"""


# The table is used only when meta says it was built for this very version (a version published by an older
# writer, which copied the table without rebuilding it, computes the counts on the fly instead).
DAY_COUNTS_CURRENT_SQL = f"""
    SELECT count(*) = 1 AND (SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'
                                                                   AND table_name = '{DAY_COUNTS}') = 1
    FROM meta d JOIN meta v ON v.key = 'version' AND d.key = 'day_counts_version' AND d.value = v.value"""


def refresh_day_counts(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """(Re)build DAY_COUNTS from the incidents of this connection's warehouse, for `version` (ordered by day: the
    date filters of the queries then skip whole row groups)."""
    con.execute(f"CREATE OR REPLACE TABLE {DAY_COUNTS} AS {DAY_COUNTS_SELECT} ORDER BY pleegdatum")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('day_counts_version', ?)", [str(version)])


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_SQL)
    con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")
    con.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", [dt.datetime.now().isoformat(timespec="seconds")])


@dataclass(frozen=True)
class VersionInfo:
    version: int
    path: Path
    created_at: dt.datetime
    current: bool
    note: str


def list_versions(path: Path) -> list[VersionInfo]:
    vdir = versions_dir(path)
    if not vdir.exists():
        return []
    try:
        cur = os.stat(path).st_ino
    except FileNotFoundError:
        cur = None
    out = []
    for p in sorted(vdir.iterdir()):
        m = _VERSION_RE.match(p.name)
        if not m:
            continue
        try:  # an ingest may prune this version between the listing and here: then it is no version any more
            st = p.stat()
            note_file = p.with_suffix(".txt")
            note = note_file.read_text(encoding="utf-8").strip() if note_file.exists() else ""
        except FileNotFoundError:
            continue
        out.append(VersionInfo(int(m.group(1)), p, dt.datetime.fromtimestamp(st.st_mtime), st.st_ino == cur, note))
    return out


def version_token(path: Path) -> str:
    """Cheap identity of the current warehouse file, for cache keys (changes on every swap)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point_to(path: Path, target: Path) -> None:
    """Atomically make `path` a hard link to `target`."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.link")
    os.link(target, tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class LockTimeout(RuntimeError):
    pass


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path(path), "a+")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(f"een andere ingest houdt {lock_path(path)} al langer dan {timeout:.0f} s vast")
                time.sleep(0.2)
        yield
    finally:
        fh.close()


class Writer:
    """A pending new version of the warehouse; see `write_version`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, base_version: int, new_version: int):
        self.con = con
        self.base_version = base_version
        self.new_version = new_version
        self.note = ""
        self.commit = True  # set False to abandon the new version (nothing changed)


def _next_version(path: Path) -> int:
    return max([v.version for v in list_versions(path)] + [0]) + 1


@contextlib.contextmanager
def write_version(path: Path, keep: int = 4, lock_timeout: float = 600, init=None, lock: bool = True):
    """Open a copy of the current warehouse read-write; publish it atomically on success.

    `init(con)` fills a brand-new warehouse (schema and bundled areas) when none exists yet.
    `lock=False` when the caller already holds `exclusive_lock(path)`.
    """
    path = Path(path)
    vdir = versions_dir(path)
    vdir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path, lock_timeout) if lock else contextlib.nullcontext():
        # leftovers of a killed writer are never published: remove them
        for p in vdir.glob(".tmp-*"):
            p.unlink(missing_ok=True)
        tmp = vdir / f".tmp-{uuid.uuid4().hex}.duckdb"
        exists = path.exists()
        flusher = None
        if exists:
            if _copy_file(path, tmp) == "copy":
                flusher = _background_flush(tmp)
        con = duckdb.connect(str(tmp))
        try:
            if not exists:
                create_schema(con)
                if init is not None:
                    init(con)
            base = int(con.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0])
            new = max(_next_version(path), base + 1)
            writer = Writer(con, base, new)
            yield writer
            if not writer.commit and exists:
                con.close()
                if flusher is not None:
                    flusher.join()
                tmp.unlink(missing_ok=True)
                return
            refresh_day_counts(con, new)  # every version's day counts come from its own incidents
            con.execute("UPDATE meta SET value=? WHERE key='version'", [str(new)])
            con.execute("INSERT OR REPLACE INTO meta VALUES ('written_at', ?)",
                        [dt.datetime.now().isoformat(timespec="seconds")])
            if flusher is not None:
                flusher.join()  # the copied bytes are on disk; the checkpoint syncs only what changed
            con.execute("CHECKPOINT")
            con.close()
        except BaseException:
            if flusher is not None:
                flusher.join()
            with contextlib.suppress(Exception):
                con.close()
            tmp.unlink(missing_ok=True)
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
            raise
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        final = vdir / f"v{new:06d}.duckdb"
        os.replace(tmp, final)
        _fsync_dir(vdir)
        if writer.note:
            final.with_suffix(".txt").write_text(writer.note + "\n", encoding="utf-8")
        _point_to(path, final)  # the commit point
        _prune(path, keep)


_FICLONE = 0x40049409  # ioctl: share the source's blocks copy-on-write (XFS with reflink, Btrfs, bcachefs, ...)


def _copy_file(src: Path, dst: Path) -> str:
    """Copy the current version as cheaply as the filesystem allows; returns how ("reflink" or "copy").

    A reflink clone copies no data at all (the new version shares the old one's blocks until DuckDB
    writes a block), so an ingest costs the same on 20M incidents as on 1M. Where the filesystem cannot
    clone (ext4, tmpfs), the kernel copies the bytes itself (`copy_file_range`, no round trip
    through Python), and `_background_flush` writes them to disk while the ingest works.
    """
    import shutil

    with open(src, "rb") as fi, open(dst, "wb") as fo:
        with contextlib.suppress(OSError):
            fcntl.ioctl(fo.fileno(), _FICLONE, fi.fileno())
            return "reflink"
        size, done = os.fstat(fi.fileno()).st_size, 0
        try:
            while done < size:
                n = os.copy_file_range(fi.fileno(), fo.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except OSError:
            done = -1
        if done != size:  # no copy_file_range here (or cut short): start again the plain way
            fi.seek(0)
            fo.seek(0)
            fo.truncate()
            shutil.copyfileobj(fi, fo, 1 << 24)
    return "copy"


def _background_flush(path: Path) -> threading.Thread:
    """fsync `path` in a thread: the copy's pages reach the disk while the writer reads and checks its
    files, instead of all at once in the final checkpoint (about 1 s per GB on this machine)."""
    def run():
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    t = threading.Thread(target=run, name="warehouse-flush", daemon=True)
    t.start()
    return t


def _prune(path: Path, keep: int) -> None:
    versions = list_versions(path)
    for v in versions[:-keep] if keep < len(versions) else []:
        if v.current:
            continue
        v.path.unlink(missing_ok=True)
        v.path.with_suffix(".txt").unlink(missing_ok=True)


def restore(path: Path, version: int, lock_timeout: float = 600) -> VersionInfo:
    """Make a kept version the current warehouse again (atomic, like a write)."""
    with exclusive_lock(path, lock_timeout):
        for v in list_versions(path):
            if v.version == version:
                _point_to(path, v.path)
                return v
    raise KeyError(version)


def ensure_day_counts(path: Path, keep: int = 4, lock_timeout: float = 600) -> bool:
    """A warehouse whose current version has no current DAY_COUNTS (written before they existed, or by an older
    writer) gets a new version with them (the pages read them instead of the incidents; without them they compute
    the same counts, slower). True if a version was written."""
    def have(con) -> bool:
        return bool(con.execute(DAY_COUNTS_CURRENT_SQL).fetchone()[0])

    con = connect_readonly(path)
    try:
        if have(con):
            return False
    finally:
        con.close()
    with write_version(path, keep, lock_timeout) as w:
        w.note = "dagtellingen van de incidenten toegevoegd"
        if have(w.con):  # added meanwhile by another writer
            w.commit = False
    return w.commit


def ensure_warehouse(path: Path, keep: int = 4, lock_timeout: float = 600, lock: bool = True) -> bool:
    """Create the warehouse with the bundled areas when it does not exist yet. True if created."""
    if Path(path).exists():
        return False
    from .areas import load_bundled_areas

    with write_version(path, keep, lock_timeout, init=load_bundled_areas, lock=lock) as w:
        w.note = "nieuw warehouse met de meegeleverde gebieden"
        if Path(path).exists():  # created meanwhile by another process
            w.commit = False
    return True
