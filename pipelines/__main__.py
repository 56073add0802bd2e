"""`python -m pipelines <command>`: ingest, areas load, export, restore, demo, firstrun, users.

Exit codes: 0 ok, 1 unexpected failure (warehouse unchanged), 2 usage or configuration
error, 3 (ingest) at least one file refused.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipelines", description="Dashboards Veiligheid: pijplijnen")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="laad de extractbestanden uit de inbox in het warehouse")
    ing.add_argument("--inbox", help="map met extractbestanden (standaard VEILIGHEID_INBOX of data/inbox)")
    ing.add_argument("--warehouse", help="warehouse-bestand (standaard VEILIGHEID_WAREHOUSE of data/warehouse.duckdb)")
    ing.add_argument("--json", action="store_true", help="druk één JSON-object af op stdout")

    areas = sub.add_parser("areas", help="referentiegebieden")
    areas_sub = areas.add_subparsers(dest="areas_command", required=True)
    load = areas_sub.add_parser("load", help="vervang de gebieden van een warehouse")
    load.add_argument("--wijken", required=True, type=Path)
    load.add_argument("--buurten", required=True, type=Path)
    load.add_argument("--bevolking", required=True, type=Path)
    load.add_argument("--kerncijfers", type=Path)
    load.add_argument("--stadsdelen", type=Path)
    load.add_argument("--warehouse")

    exp = sub.add_parser("export", help="geaggregeerde aantallen van de actuele records")
    exp.add_argument("--kind", required=True)
    exp.add_argument("--by", required=True, help="kolommen, komma-gescheiden")
    exp.add_argument("--from", dest="date_from")
    exp.add_argument("--to", dest="date_to")
    exp.add_argument("--warehouse")
    exp.add_argument("--format", choices=("csv", "json"), default="csv")

    res = sub.add_parser("restore", help="toon of herstel een eerdere warehouseversie")
    g = res.add_mutually_exclusive_group(required=True)
    g.add_argument("--list", action="store_true")
    g.add_argument("--to", type=int, metavar="VERSION")
    res.add_argument("--warehouse")

    sub.add_parser("firstrun", help="eerste start: bouw een demo-warehouse als het warehouse nog leeg is")

    users = sub.add_parser("users", help="lokale accounts (wachtwoord via prompt of stdin, nooit als argument)")
    users.add_argument("--users", help="accountbestand (standaard VEILIGHEID_USERS of data/users.sqlite)")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="maak een account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("wijkteam", "analist", "beheer"))
    add.add_argument("--team", help="rol wijkteam: het Veiliger Wijkteam (teamnaam, of een stadsdeel of wijkcode "
                                    "van dat team); zonder team kan het account geen prioriteiten vastleggen")
    team = users_sub.add_parser("team", help="koppel een wijkteam-account aan een Veiliger Wijkteam (of ontkoppel "
                                             "met --geen); geldt vanaf de volgende login")
    team.add_argument("name")
    team.add_argument("team", nargs="?", help="teamnaam, of een stadsdeel of wijkcode van dat team")
    team.add_argument("--geen", action="store_true", help="haal de koppeling weg")
    users_sub.add_parser("list", help="toon de accounts")
    dis = users_sub.add_parser("disable", help="schakel een account uit")
    dis.add_argument("name")
    ena = users_sub.add_parser("enable", help="zet een uitgeschakeld account weer aan")
    ena.add_argument("name")
    reset = users_sub.add_parser("reset", help="nieuw wachtwoord (heft ook een blokkade op; een uitgeschakeld "
                                               "account blijft uit)")
    reset.add_argument("name")

    demo = sub.add_parser("demo", help="schrijf demo-extractbestanden in de inbox")
    try:
        from pipelines.demo import add_arguments
        add_arguments(demo)
    except ImportError:  # pragma: no cover - demo module is part of the product
        pass
    return p


def _areas(args) -> int:
    from veiligheid.areas import AreaFiles, read_area_files, replace_areas
    from veiligheid.config import Config
    from veiligheid.warehouse import write_version

    cfg = Config.from_env(warehouse=args.warehouse)
    files = AreaFiles(args.wijken, args.buurten, args.bevolking, args.kerncijfers, args.stadsdelen)
    for f in (args.wijken, args.buurten, args.bevolking, args.kerncijfers, args.stadsdelen):
        if f is not None and not f.is_file():
            raise FileNotFoundError(f"bestand niet gevonden: {f}")
    read_area_files(files)  # validate before taking the lock
    with write_version(cfg.warehouse, cfg.keep_versions, cfg.lock_timeout) as w:
        report = replace_areas(w.con, files)
        n_bu = w.con.execute("SELECT count(*) FROM buurten").fetchone()[0]
        n_wk = w.con.execute("SELECT count(*) FROM wijken").fetchone()[0]
        w.note = f"gebieden geladen: {n_bu} buurten, {n_wk} wijken"
    print(f"gebieden geladen in {cfg.warehouse}: {n_bu} buurten, {n_wk} wijken (versie {w.new_version})")
    for table, r in report.items():
        print(f"  {table}: {r['records']} records opnieuw geplaatst, {r['niet_geplaatst']} niet te plaatsen")
    return 0


def _restore(args) -> int:
    from veiligheid.config import Config
    from veiligheid.warehouse import list_versions, restore

    cfg = Config.from_env(warehouse=args.warehouse)
    if args.list:
        versions = list_versions(cfg.warehouse)
        if not versions:
            print(f"geen versies bij {cfg.warehouse}")
        for v in versions:
            mark = "*" if v.current else " "
            print(f"{mark} {v.version:6d}  {v.created_at:%d-%m-%Y %H:%M:%S}  {v.note}")
        return 0
    try:
        v = restore(cfg.warehouse, args.to, cfg.lock_timeout)
    except KeyError:
        kept = ", ".join(str(v.version) for v in list_versions(cfg.warehouse)) or "geen"
        print(f"fout: versie {args.to} bestaat niet (bewaard: {kept})", file=sys.stderr)
        return 2
    print(f"versie {v.version} is weer het actuele warehouse ({cfg.warehouse})")
    return 0


def _read_password() -> str:
    """From a prompt (asked twice) on a terminal, else the first line of stdin. Never from argv."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("Wachtwoord: ")
        if getpass.getpass("Nog een keer: ") != first:
            raise UsersError("de wachtwoorden zijn niet gelijk")
        return first
    return sys.stdin.readline().rstrip("\r\n")


class UsersError(ValueError):
    pass


def _resolve_team(text: str) -> str:
    """The canonical team name for what the administrator typed (a team name, or a stadsdeel name or
    wijkcode of one of its stadsdelen), checked against the teams of the current areas: those of the
    warehouse when it exists, else the bundled reference areas (VEILIGHEID_TEAMS applies to both).
    Raises UsersError (Dutch) for an unknown team or an unusable teams file; when no areas can be read at
    all, the name is stored as given with a warning on stderr."""
    from veiligheid import teams as T

    stadsdelen, source = T.reference_stadsdelen()
    if not stadsdelen:
        print(f"let op: het team is niet te controleren ({source}); opgeslagen zoals opgegeven: {text}",
              file=sys.stderr)
        return text.strip()
    teams, warning = T.load(stadsdelen)
    if warning:
        raise UsersError(f"{warning} Herstel eerst het teambestand; dan kan het team gecontroleerd worden.")
    hit = T.resolve(teams, stadsdelen, text)
    if hit is None:
        raise UsersError(f"onbekend team '{text.strip()}'. Kies een team: {', '.join(t.naam for t in teams)} "
                         f"(of een stadsdeel of wijkcode van dat team; stadsdelen uit {source})")
    return hit.naam


def _users(args) -> int:
    from veiligheid import audit
    from veiligheid.auth import AuthError, Users
    from veiligheid.fmt import datetime as fmt_dt

    users = Users(Path(args.users) if args.users else None)
    try:
        if args.users_command == "add":
            team = None
            if args.team is not None and args.team.strip():
                if args.role != "wijkteam":
                    raise UsersError(f"--team hoort alleen bij rol wijkteam (analist en beheer leggen prioriteiten "
                                     f"vast voor elk team), niet bij rol {args.role}")
                team = _resolve_team(args.team)
            users.add(args.name, args.role, _read_password(), team=team)
            audit.log("gebruikers", "beheer (cli)", None, actie="account aangemaakt", account=args.name, rol=args.role,
                      **({"team": team} if team else {}))
            print(f"account {args.name} aangemaakt (rol {args.role}" + (f", team {team})" if team else ")"))
            if args.role == "wijkteam" and not team:
                print(f"let op: {args.name} hoort bij geen Veiliger Wijkteam en kan dus geen prioriteiten vastleggen; "
                      f"koppel het met: python -m pipelines users team {args.name} TEAM")
        elif args.users_command == "team":
            given = "" if args.geen else (args.team or "").strip()
            if not args.geen and args.team is None:
                raise UsersError("geef een team op, of --geen om de koppeling weg te halen")
            team = _resolve_team(given) if given else None
            before = users.set_team(args.name, team)
            audit.log("gebruikers", "beheer (cli)", None, actie="team gewijzigd" if team else "team ontkoppeld",
                      account=args.name, team=team or "", vorig_team=before or "")
            print(f"account {args.name}: " + (f"team {team}" if team else "geen team meer")
                  + (f" (was {before})" if before and before != team else "") + "; geldt vanaf de volgende login")
        elif args.users_command == "reset":
            users.reset(args.name, _read_password())
            audit.log("gebruikers", "beheer (cli)", None, actie="wachtwoord teruggezet", account=args.name)
            print(f"nieuw wachtwoord gezet voor {args.name}; een eventuele blokkade is opgeheven")
        elif args.users_command == "disable":
            users.disable(args.name)
            audit.log("gebruikers", "beheer (cli)", None, actie="account uitgeschakeld", account=args.name)
            print(f"account {args.name} uitgeschakeld")
        elif args.users_command == "enable":
            users.disable(args.name, disabled=False)
            audit.log("gebruikers", "beheer (cli)", None, actie="account weer aangezet", account=args.name)
            print(f"account {args.name} staat weer aan")
        else:
            accounts = users.list()
            if not accounts:
                print(f"nog geen accounts in {users.path}")
            for a in accounts:
                state = "uitgeschakeld" if a.disabled else (
                    f"geblokkeerd tot {fmt_dt(a.locked_until)}" if a.locked_until else "actief")
                team = a.team or ("geen team" if a.role == "wijkteam" else "-")
                print(f"{a.name:24s} {a.role:9s} {team:32s} {state:30s} "
                      f"laatste login {fmt_dt(a.last_login) if a.last_login else 'nooit'}")
    except (AuthError, UsersError) as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo_accounts(cfg) -> None:
    """On a demo warehouse without accounts: one account per role, credentials printed once."""
    from veiligheid.auth import Users, create_demo_accounts
    from veiligheid.warehouse import connect_readonly

    con = connect_readonly(cfg.warehouse)
    try:
        demo = con.execute("SELECT value FROM meta WHERE key = 'demo'").fetchone()
    finally:
        con.close()
    users = Users()
    if users.count():
        return
    if not demo or demo[0] != "ja":
        print(f"Er zijn nog geen accounts ({users.path}). Maak er een met: "
              "python -m pipelines users add NAAM --role beheer")
        return
    team = _demo_team(cfg.warehouse)
    created = create_demo_accounts(users, team=team)
    line = "=" * 72
    print(f"\n{line}\nDEMO-ACCOUNTS (alleen voor de demodata; dit wordt maar één keer getoond)")
    for role, (name, password) in created.items():
        print(f"  rol {role:9s} gebruiker {name:16s} wachtwoord {password}")
    if team and "wijkteam" in created:
        print(f"  {created['wijkteam'][0]} hoort bij {team}: alleen voor dat team legt het prioriteiten vast.")
    print(f"Bewaar ze nu. Nieuwe wachtwoorden: python -m pipelines users reset NAAM\n{line}\n")


def _demo_team(warehouse) -> str | None:
    """The team of demo-wijkteam: the first team by name of the warehouse's areas (None when unknown)."""
    from veiligheid import teams as T

    stadsdelen, _ = T.reference_stadsdelen(warehouse)
    teams, _ = T.load(stadsdelen) if stadsdelen else ([], None)
    return min((t.naam for t in teams), default=None, key=str.casefold)


def _firstrun(args) -> int:
    """Build a demo warehouse (generate + ingest, with progress) when the warehouse holds no data yet."""
    import shutil

    from tqdm import tqdm

    from pipelines.demo import generate
    from pipelines.ingest import run_ingest
    from veiligheid.config import Config
    from veiligheid.warehouse import connect_readonly, ensure_day_counts, ensure_warehouse

    cfg = Config.from_env()
    ensure_warehouse(cfg.warehouse, cfg.keep_versions, cfg.lock_timeout)
    con = connect_readonly(cfg.warehouse)
    try:
        runs = con.execute("SELECT count(*) FROM ingest_runs").fetchone()[0]
    finally:
        con.close()
    if runs:
        print(f"warehouse {cfg.warehouse}: bevat al data")
        try:  # never keeps the dashboard from starting: without them the pages compute the same counts, slower
            if ensure_day_counts(cfg.warehouse, cfg.keep_versions, lock_timeout=min(cfg.lock_timeout, 5)):
                print("dagtellingen van de incidenten toegevoegd (nieuwe versie van het warehouse)")
        except Exception as exc:  # noqa: BLE001 - e.g. the weekly ingest holds the lock: it adds them itself
            print(f"dagtellingen niet toegevoegd ({type(exc).__name__}: {exc}); de pagina's tellen zolang uit de "
                  "incidenten, de volgende ingest voegt ze toe")
        _demo_accounts(cfg)
        return 0
    print(f"Eerste start: het warehouse {cfg.warehouse} is leeg; er worden demodata gemaakt en geladen.")
    demo_inbox = cfg.inbox.parent / "demo-inbox"
    shutil.rmtree(demo_inbox, ignore_errors=True)
    with tqdm(total=1, desc="demodata maken", unit="week", file=sys.stdout) as bar:
        def on_week(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()
        generate(demo_inbox, progress=on_week)
    demo_cfg = Config(**{**cfg.__dict__, "inbox": demo_inbox, "processed": demo_inbox.parent / "demo-processed",
                         "refused": demo_inbox.parent / "demo-refused"})
    n_files = sum(1 for _ in demo_inbox.iterdir())
    with tqdm(total=n_files, desc="demodata laden", unit="bestand", file=sys.stdout) as bar:
        result = run_ingest(demo_cfg, progress=lambda i, n, res: bar.update(1), mark_demo=True)
    loaded = sum(f.rows_loaded for f in result.files)
    quarantined = sum(f.rows_quarantined for f in result.files)
    refused = sum(1 for f in result.files if f.status == "refused")
    print(f"Demo-warehouse klaar: {loaded} rijen geladen, {quarantined} in quarantaine, {refused} bestand(en) geweigerd.")
    _demo_accounts(cfg)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pipelines.export import ExportError
    from veiligheid.areas import AreasError
    from veiligheid.config import ConfigError
    from veiligheid.warehouse import LockTimeout

    try:
        if args.command == "ingest":
            from pipelines.ingest import main as ingest_main
            return ingest_main(args)
        if args.command == "areas":
            return _areas(args)
        if args.command == "export":
            from pipelines.export import main as export_main
            return export_main(args)
        if args.command == "restore":
            return _restore(args)
        if args.command == "users":
            return _users(args)
        if args.command == "firstrun":
            return _firstrun(args)
        if args.command == "demo":
            from pipelines.demo import run
            return run(args)
    except (ConfigError, ExportError, AreasError, LockTimeout, FileNotFoundError) as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - the run did not publish anything
        traceback.print_exc()
        print("onverwachte fout: het warehouse is ongewijzigd", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
