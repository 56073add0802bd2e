"""The extract contract (shared/spec/extracts.md), rule by rule, through the real ingest."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

from conftest import REPO, cli, inside, write
from pipelines.ingest import run_ingest

FIXTURES = REPO / "tests" / "fixtures"
INC_HEAD = "registratienummer;pleegdatum;soort_code;x_rd;y_rd\n"


def q(cfg, sql, params=None):
    con = duckdb.connect(str(cfg.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def one(result, name=None):
    files = [f for f in result.files if name is None or f.file == name]
    assert len(files) == 1
    return files[0]


def balance(f):
    assert f.rows_read == f.rows_loaded + f.rows_quarantined


def inc_row(key, date, code, xy):
    return f"{key};{date};{code};{str(xy[0]).replace('.', ',')};{str(xy[1]).replace('.', ',')}\n"


# ---------------------------------------------------------------- samples and formats
def test_samples_load_with_every_format(env):
    for p in FIXTURES.iterdir():
        shutil.copy(p, env.inbox)
    res = run_ingest(env)
    assert res.exit_code == 0
    assert {f.status for f in res.files} == {"loaded"}
    for f in res.files:
        balance(f)
        assert f.rows_quarantined == 0
    assert q(env, "SELECT count(*) FROM incidenten")[0][0] == 12
    assert q(env, "SELECT count(*) FROM registraties")[0][0] == 6  # XLSX, first sheet
    assert q(env, "SELECT count(*) FROM cyber_slachtoffers")[0][0] == 6  # UTF-8 with BOM
    assert q(env, "SELECT count(*) FROM hennep")[0][0] == 4  # comma-separated, lat/lon
    # every record placed on a buurt and wijk, and lineage kept
    for t in ("incidenten", "registraties", "cyber_slachtoffers", "hennep"):
        assert q(env, f"SELECT count(*) FROM {t} WHERE wijkcode IS NULL OR bron_week <> '2024-W47'")[0][0] == 0
    # files moved to processed/<kind>/, nothing left in the inbox
    assert sorted(p.name for p in env.inbox.iterdir()) == []
    assert (env.processed / "incidenten" / "incidenten_2024-W47.csv").exists()
    assert (env.processed / "registraties" / "registraties_2024-W47.xlsx").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delim", [";", ","])
def test_encodings_and_delimiters_keep_diacritics(env, encoding, delim):
    text = (f'registratie_id{delim}datum{delim}bron{delim}categorie{delim}omschrijving{delim}buurtcode\n'
            f'R1{delim}01-11-2024{delim}MOR{delim}Woonoverlast{delim}"\'t Broek{delim} één"{delim}BU02680101\n'
            f'R2{delim}02-11-2024{delim}BOA{delim}Vandalisme{delim}Hatertse Hei, Kwakkenberg{delim}BU02680101\n')
    if delim == ",":
        text = text.replace("Hatertse Hei, Kwakkenberg", '"Hatertse Hei, Kwakkenberg"')
    write(env.inbox, "registraties_2024-W45.csv", text, encoding)
    f = one(run_ingest(env))
    assert f.status == "loaded" and f.rows_loaded == 2
    got = dict(q(env, "SELECT registratie_id, omschrijving FROM registraties"))
    assert got["R1"] == f"'t Broek{delim} één"
    assert got["R2"] == "Hatertse Hei, Kwakkenberg"


def test_unreadable_encoding_is_refused(env):
    (env.inbox / "incidenten_2024-W45.csv").write_bytes(INC_HEAD.encode() + b"A1;01-11-2024;1.1.1;\x81\x8d;1\n")
    res = run_ingest(env)
    assert res.exit_code == 3
    assert "tekenset" in one(res).reason


# ---------------------------------------------------------------- file names
@pytest.mark.parametrize("name", ["incidenten-2024-W47.csv", "incidents_2024-W47.csv", "incidenten_2024-47.csv",
                                  "incidenten_2024-W47.txt"])
def test_bad_file_name_refused_with_pattern(env, name):
    write(env.inbox, name, INC_HEAD)
    res = run_ingest(env)
    f = one(res)
    assert res.exit_code == 3 and f.status == "refused"
    assert "<soort>_<JJJJ>-W<ww>" in f.reason
    assert (env.refused / name).exists()
    assert "Reden:" in (env.refused / (name + ".reden.txt")).read_text(encoding="utf-8")


def test_nonexistent_week_refused(env):
    write(env.inbox, "incidenten_2025-W53.csv", INC_HEAD)  # 2025 has 52 ISO weeks
    assert "bestaat niet" in one(run_ingest(env)).reason


def test_free_text_suffix_accepted(env, buurten_rd):
    write(env.inbox, "incidenten_2024-W47_correctie.csv", INC_HEAD + inc_row("A1", "18-11-2024", "1.1.1", inside(buurten_rd, "BU02680101")))
    f = one(run_ingest(env))
    assert f.status == "loaded" and f.kind == "incidenten" and f.week == "2024-W47"


# ---------------------------------------------------------------- headers
def test_header_variants_aliases_and_extra_columns(env, buurten_rd):
    x, y = inside(buurten_rd, "BU02680101")
    text = (" REGISTRATIE NUMMER ;Datum-Feit;misdrijf_code;X Coordinaat;y-coordinaat;Kleur;Status\n"
            f"A1;18-11-2024;1.1.1;{x};{y};rood;actief\n")
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    assert f.status == "loaded", f.reason
    assert f.ignored_columns == ["Kleur"]
    assert q(env, "SELECT buurtcode, soort_code FROM incidenten") == [("BU02680101", "1.1.1")]


def test_missing_required_column_refuses_whole_file(env):
    write(env.inbox, "incidenten_2024-W47.csv", "registratienummer;x_rd;y_rd\nA1;187000;427000\n")
    res = run_ingest(env)
    f = one(res)
    assert f.status == "refused" and res.exit_code == 3
    assert "'pleegdatum' (of: begindatum, datum_feit, pleegdatum_begin)" in f.reason
    assert "'soort_code'" in f.reason
    assert q(env, "SELECT count(*) FROM incidenten")[0][0] == 0
    assert (env.refused / "incidenten_2024-W47.csv").exists()


def test_empty_file_refused(env):
    write(env.inbox, "hennep_2024-W47.csv", "")
    assert "leeg" in one(run_ingest(env)).reason


# ---------------------------------------------------------------- values
def test_date_formats_and_bad_dates(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    rows = {
        "OK1": "18-11-2024", "OK2": "1-2-2024", "OK3": "2024-11-18", "OK4": "18/11/2024",
        "OK5": "18-11-2024 21:30", "OK6": "2024-11-18 21:30:15",
        "BAD1": "31-02-2024", "BAD2": "31-12-2009", "BAD3": "25-11-2024", "BAD4": "18.11.2024",
    }
    text = INC_HEAD + "".join(inc_row(k, d, "1.1.1", xy) for k, d in rows.items())
    write(env.inbox, "incidenten_2024-W47.csv", text)
    env2 = dataclasses.replace(env, max_bad_rows_pct=50.0)
    f = one(run_ingest(env2))
    balance(f)
    assert f.rows_loaded == 6 and f.rows_quarantined == 4
    loaded = dict(q(env, "SELECT registratienummer, pleegmoment FROM incidenten"))
    assert str(loaded["OK2"]) == "None" or loaded["OK2"] is None  # date only: no moment
    assert str(loaded["OK5"]) == "2024-11-18 21:30:00"
    reasons = dict(q(env, "SELECT value, reason FROM quarantine WHERE \"column\" = 'pleegdatum'"))
    assert "ongeldige datum" in reasons["31-02-2024"]
    assert "vóór 01-01-2010" in reasons["31-12-2009"]
    assert "na het einde van de extractweek (24-11-2024)" in reasons["25-11-2024"]
    assert "ongeldige datum" in reasons["18.11.2024"]


def test_quarantine_has_file_line_column_value_reason(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    text = INC_HEAD + "".join(inc_row(f"A{i}", "18-11-2024", "1.1.1", xy) for i in range(8))
    text += inc_row("B1", "18-11-2024", "9.9.9", xy)  # line 10
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    assert f.status == "loaded" and f.rows_quarantined == 1 and f.rows_loaded == 8
    rows = q(env, "SELECT file, line, \"column\", value, reason, record FROM quarantine")
    assert len(rows) == 1
    file, line, column, value, reason, record = rows[0]
    assert (file, line, column, value) == ("incidenten_2024-W47.csv", 10, "soort_code", "9.9.9")
    assert "onbekende waarde" in reason
    assert json.loads(record)["registratienummer"] == "B1"


def test_line_numbers_count_quoted_newlines_and_blank_lines(env, buurten_rd):
    x, y = inside(buurten_rd, "BU02680101")
    text = ("registratie_id;datum;bron;categorie;omschrijving;x_rd;y_rd\n"
            f'R1;01-11-2024;MOR;Woonoverlast;"twee\nregels";{x};{y}\n'
            "\n"
            f"R2;01-11-2024;MOR;Woonoverlast;ok;{x};{y};extra\n"  # line 5: too many fields
            + "".join(f"R{i};01-11-2024;MOR;Woonoverlast;ok;{x};{y}\n" for i in range(3, 10))
            + f"R10;01-11-2024;XXX;Woonoverlast;ok;{x};{y}\n")  # line 13: bad bron
    write(env.inbox, "registraties_2024-W45.csv", text)
    f = one(run_ingest(env))
    balance(f)
    assert f.rows_read == 10 and f.rows_quarantined == 2
    got = sorted(q(env, "SELECT line, \"column\" FROM quarantine"))
    assert got == [(5, "(regel)"), (13, "bron")]


def test_numbers_amounts_yes_no_codes_and_null_tokens(env):
    text = ("aangifte_id;aangiftedatum;delict;leeftijd;geslacht;opleidingsniveau;schadebedrag;woon_buurtcode\n"
            "C1;01-11-2024; phishing ;30;man;HOOG;1.234,56;BU02680101\n"
            "C2;01-11-2024;HACKEN;31;vrouw;laag;1,234.56;02680101\n"
            "C3;01-11-2024;Sextortion;32;X;n.v.t.;312,50;BU02680101\n"
            "C4;01-11-2024;Overig;33;NULL;-;;BU02680101\n"
            "C5;01-11-2024;Overig;34;M;laag;1250;BU02680101\n")
    write(env.inbox, "cyber_slachtoffers_2024-W45.csv", text)
    f = one(run_ingest(env))
    assert f.rows_loaded == 5, f
    got = {r[0]: r[1:] for r in q(env, "SELECT aangifte_id, delict, geslacht, opleidingsniveau, schadebedrag, buurtcode "
                                        "FROM cyber_slachtoffers")}
    assert got["C1"] == ("Phishing", "M", "hoog", pytest.approx(1234.56), "BU02680101")
    assert got["C2"] == ("Hacken", "V", "laag", pytest.approx(1234.56), "BU02680101")
    assert got["C3"][2:4] == (None, pytest.approx(312.5))
    assert got["C4"][1:4] == (None, None, None)
    assert got["C5"][3] == pytest.approx(1250)


def test_hennep_yes_no_dates_order_and_future_end(env):
    head = "zaaknummer,signaaldatum,signaalbron,ruimingsdatum,aantal_planten,type_pand,stroomdiefstal,besluit_13b,sluiting_begin,sluiting_eind,adres_id,buurtcode\n"
    rows = [
        "H1,2024-10-01,netbeheerder,2024-10-10,400,woning,J,sluiting,2024-11-01,2025-05-01,0268010000041250,BU02680101",
        "H2,2024-10-01,Politie,,,Bijgebouw,false,,,,268010000041251,BU02680101",
        "H3,2024-10-01,Politie,,,Bijgebouw,1,,,,,BU02680101",
        "H4,2024-10-01,Politie,,,Bijgebouw,0,,,,,BU02680101",
        "H5,2024-10-01,Politie,,,Bijgebouw,yes,,,,,BU02680101",
        "H6,2024-10-01,Politie,,,Bijgebouw,no,,,,,BU02680101",
        "H7,2024-10-01,Politie,,,Bijgebouw,nee,,,,,BU02680101",
        "H8,2024-10-01,Politie,,,Bijgebouw,true,,,,,BU02680101",
        "H9,2024-10-01,Politie,,,Bijgebouw,n,,,,,BU02680101",
        "BAD1,2024-10-10,Politie,2024-10-01,,Woning,ja,,,,,BU02680101",  # dismantled before signal
        "BAD2,2024-10-10,Politie,,,Woning,ja,Sluiting,2024-11-01,2024-10-01,,BU02680101",  # end before begin
        "BAD3,2024-10-10,Politie,,,Woning,misschien,,,,,BU02680101",
    ]
    write(env.inbox, "hennep_2024-W47.csv", head + "\n".join(rows) + "\n")
    env2 = dataclasses.replace(env, max_bad_rows_pct=50.0)
    f = one(run_ingest(env2))
    assert f.rows_loaded == 9 and f.rows_quarantined == 3
    got = dict(q(env, "SELECT zaaknummer, stroomdiefstal FROM hennep"))
    assert [got[f"H{i}"] for i in range(1, 10)] == [True, False, True, False, True, False, False, True, False]
    h1 = q(env, "SELECT signaalbron, type_pand, besluit_13b, sluiting_eind::VARCHAR, adres_id FROM hennep WHERE zaaknummer='H1'")
    assert h1 == [("Netbeheerder", "Woning", "Sluiting", "2025-05-01", "0268010000041250")]
    assert q(env, "SELECT besluit_13b, adres_id FROM hennep WHERE zaaknummer='H2'") == [("Geen", "0268010000041251")]
    reasons = dict(q(env, "SELECT json_extract_string(record, '$.zaaknummer'), reason FROM quarantine"))
    assert "ruimingsdatum ligt vóór signaaldatum" in reasons["BAD1"]
    assert "sluiting_eind ligt vóór sluiting_begin" in reasons["BAD2"]
    assert "ja/nee" in reasons["BAD3"]


def test_cyber_age_from_birth_year_and_one_of_rules(env):
    text = ("id;datum;modus;geboortejaar;leeftijd_slachtoffer;sekse;buurtcode\n"
            "C1;01-11-2024;Phishing;2000;;V;BU02680101\n"
            "C2;01-11-2024;Phishing;;;V;BU02680101\n"  # no age at all
            "C3;01-11-2024;Phishing;;40;V;\n"  # no residence
            "C4;01-11-2024;Phishing;;111;V;BU02680101\n")  # age out of range
    write(env.inbox, "cyber_slachtoffers_2024-W45.csv", text)
    env2 = dataclasses.replace(env, max_bad_rows_pct=80.0)
    f = one(run_ingest(env2))
    assert f.rows_loaded == 1 and f.rows_quarantined == 3
    assert q(env, "SELECT leeftijd FROM cyber_slachtoffers") == [(24,)]
    reasons = {r[0] for r in q(env, "SELECT reason FROM quarantine")}
    assert "leeftijd en geboortejaar ontbreken allebei" in reasons
    assert any(r.startswith("woonplaats ontbreekt") for r in reasons)
    assert "waarde groter dan 110" in reasons


# ---------------------------------------------------------------- location
def test_location_forms_and_rd_to_wgs84(env, buurten_rd):
    import pyproj

    x, y = inside(buurten_rd, "BU02680202")
    lon, lat = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(x, y)
    text = ("registratie_id;datum;bron;categorie;x;y;latitude;lng;buurtcode;wijkcode\n"
            f"R1;01-11-2024;MOR;Overig;{x};{y};;;;\n"
            f"R2;01-11-2024;MOR;Overig;;;{lat:.6f};{lon:.6f};;\n"
            "R3;01-11-2024;MOR;Overig;;;;;02680202;\n"
            "R4;01-11-2024;MOR;Overig;;;;;;026802\n")
    write(env.inbox, "registraties_2024-W45.csv", text)
    f = one(run_ingest(env))
    assert f.rows_loaded == 4, f
    got = {r[0]: r[1:] for r in q(env, "SELECT registratie_id, buurtcode, wijkcode, gemeentecode, lat, lon, x_rd "
                                        "FROM registraties")}
    assert got["R1"][:3] == ("BU02680202", "WK026802", "GM0268")
    assert got["R1"][3] == pytest.approx(lat, abs=1e-5) and got["R1"][4] == pytest.approx(lon, abs=1e-5)
    assert got["R2"][:3] == ("BU02680202", "WK026802", "GM0268")
    assert got["R2"][5] == pytest.approx(x, abs=1.0)  # WGS84 -> RD as well
    assert got["R3"][:2] == ("BU02680202", "WK026802")
    assert got["R4"][:2] == (None, "WK026802")  # wijk only


def test_coordinates_win_over_codes_and_disagreements_counted(env, buurten_rd):
    x, y = inside(buurten_rd, "BU02680202")
    text = (INC_HEAD.strip() + ";buurtcode\n"
            f"A1;18-11-2024;1.1.1;{x};{y};BU02680101\n"
            f"A2;18-11-2024;1.1.1;{x};{y};BU02680202\n")
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    assert f.rows_loaded == 2 and f.location_disagreements == 1
    assert set(q(env, "SELECT buurtcode FROM incidenten")) == {("BU02680202",)}


def test_outside_and_unknown_codes_are_bad_values(env, buurten_rd):
    ok = inside(buurten_rd, "BU02680101")
    text = (INC_HEAD.strip() + ";buurtcode;wijkcode\n"
            + "".join(f"OK{i};18-11-2024;1.1.1;{ok[0]};{ok[1]};;\n" for i in range(20))
            + "OUT;18-11-2024;1.1.1;155000;463000;;\n"  # Amersfoort
            + "UNK;18-11-2024;1.1.1;;;BU03630000;\n"
            + "UNW;18-11-2024;1.1.1;;;;WK036300\n"
            + "MIS;18-11-2024;1.1.1;;;BU02680101;WK026802\n")
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    assert f.rows_loaded == 20 and f.rows_quarantined == 4
    reasons = {json.loads(r[1])["registratienummer"]: (r[0], r[2]) for r in
               q(env, "SELECT \"column\", record, reason FROM quarantine")}
    assert reasons["OUT"] == ("locatie", "punt ligt buiten de gemeente")
    assert reasons["UNK"] == ("buurtcode", "onbekende buurtcode")
    assert reasons["UNW"] == ("wijkcode", "onbekende wijkcode")
    assert reasons["MIS"][1] == "buurtcode ligt niet in de opgegeven wijkcode"


def test_point_on_shared_border_goes_to_the_lowest_buurtcode(env):
    import shapely

    polys = dict((code, shapely.from_wkb(bytes(wkb))) for code, wkb in
                 q(env, "SELECT buurtcode, wkb_rd FROM buurten WHERE buurtcode IN ('BU02680100', 'BU02680101')"))
    a, b = polys["BU02680100"], polys["BU02680101"]
    shared = set(map(tuple, shapely.get_coordinates(a.exterior))) & set(map(tuple, shapely.get_coordinates(b.exterior)))
    assert shared, "the two buurten share a border vertex"
    x, y = sorted(shared)[len(shared) // 2]
    assert a.touches(shapely.Point(x, y)) and b.touches(shapely.Point(x, y))  # on both borders, inside neither
    text = INC_HEAD + f"B1;18-11-2024;1.1.1;{float(x)!r};{float(y)!r}\n"
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    assert f.rows_loaded == 1
    assert q(env, "SELECT buurtcode FROM incidenten") == [("BU02680100",)]


# ---------------------------------------------------------------- windows, corrections, duplicates
def test_latest_week_wins_whatever_the_order(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.2.1", xy))
    first = one(run_ingest(env))
    assert first.rows_new == 1
    write(env.inbox, "incidenten_2024-W46.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.1.1", xy)
          + inc_row("A2", "01-11-2024", "1.1.1", xy))
    older = one(run_ingest(env))
    assert older.status == "loaded" and older.rows_new == 1 and older.rows_superseded == 1
    assert dict(q(env, "SELECT registratienummer, soort_code FROM incidenten")) == {"A1": "1.2.1", "A2": "1.1.1"}
    assert q(env, "SELECT bron_bestand, bron_week FROM incidenten WHERE registratienummer='A1'") == [
        ("incidenten_2024-W47.csv", "2024-W47")]
    # a correction in a later week replaces, never duplicates
    write(env.inbox, "incidenten_2024-W48.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.4.5", xy))
    later = one(run_ingest(env))
    assert later.rows_replaced == 1
    assert q(env, "SELECT count(*), count(DISTINCT registratienummer) FROM incidenten") == [(2, 2)]
    assert q(env, "SELECT soort_code FROM incidenten WHERE registratienummer='A1'") == [("1.4.5",)]


def test_same_week_later_ingest_wins(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.2.1", xy))
    run_ingest(env)
    write(env.inbox, "incidenten_2024-W47_correctie.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.1.1", xy))
    f = one(run_ingest(env))
    assert f.rows_replaced == 1
    assert q(env, "SELECT soort_code, bron_bestand FROM incidenten") == [("1.1.1", "incidenten_2024-W47_correctie.csv")]


def test_same_file_twice_changes_nothing(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    text = INC_HEAD + inc_row("A1", "01-11-2024", "1.2.1", xy)
    write(env.inbox, "incidenten_2024-W47.csv", text)
    run_ingest(env)
    before = q(env, "SELECT * FROM incidenten")
    write(env.inbox, "incidenten_2024-W47.csv", text)
    res = run_ingest(env)
    f = one(res)
    assert f.status == "skipped" and res.exit_code == 0
    assert q(env, "SELECT * FROM incidenten") == before
    # never deleted: the second copy sits beside the first in processed/
    assert len(list((env.processed / "incidenten").iterdir())) == 2


def test_duplicates_inside_one_file(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    text = (INC_HEAD + inc_row("SAME", "01-11-2024", "1.2.1", xy) + inc_row("SAME", "01-11-2024", "1.2.1", xy)
            + inc_row("DIFF", "01-11-2024", "1.2.1", xy) + inc_row("DIFF", "02-11-2024", "1.2.1", xy)
            + "".join(inc_row(f"K{i}", "01-11-2024", "1.1.1", xy) for i in range(8)))
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    balance(f)
    assert f.rows_read == 12 and f.rows_loaded == 10 and f.rows_quarantined == 2
    assert q(env, "SELECT count(*) FROM incidenten WHERE registratienummer='SAME'")[0][0] == 1
    assert q(env, "SELECT count(*) FROM incidenten WHERE registratienummer='DIFF'")[0][0] == 0
    assert sorted(r[0] for r in q(env, "SELECT line FROM quarantine")) == [4, 5]


def test_withdrawn_records_kept_but_not_counted(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    head = INC_HEAD.strip() + ";status\n"
    write(env.inbox, "incidenten_2024-W46.csv", head + inc_row("A1", "01-11-2024", "1.2.1", xy).strip() + ";actief\n"
          + inc_row("A2", "01-11-2024", "1.2.1", xy).strip() + ";actief\n")
    run_ingest(env)
    write(env.inbox, "incidenten_2024-W47.csv", head + inc_row("A1", "01-11-2024", "1.2.1", xy).strip() + ";Vervallen\n")
    run_ingest(env)
    assert dict(q(env, "SELECT registratienummer, status FROM incidenten")) == {"A1": "vervallen", "A2": "actief"}
    out = cli("export", "--kind", "incidenten", "--by", "buurtcode", "--warehouse", str(env.warehouse))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["buurtcode,aantal", "BU02680101,1"]


# ---------------------------------------------------------------- threshold, exit codes, JSON
def test_bad_row_threshold_refuses_file(env, buurten_rd, monkeypatch):
    xy = inside(buurten_rd, "BU02680101")
    good = "".join(inc_row(f"A{i}", "01-11-2024", "1.1.1", xy) for i in range(4))
    bad = inc_row("B1", "01-11-2024", "0.0.0", xy) + inc_row("B2", "01-11-2024", "0.0.0", xy)
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + good + bad)  # 2 of 6 = 33 %
    res = run_ingest(env)
    f = one(res)
    assert f.status == "refused" and res.exit_code == 3 and f.rows_loaded == 0
    assert "2 van 6 rijen afgekeurd" in f.reason and "drempel 20%" in f.reason
    assert q(env, "SELECT count(*) FROM incidenten")[0][0] == 0
    assert (env.refused / "incidenten_2024-W47.csv").read_text().count("A") >= 4  # intact
    # configurable: with a 40 % threshold the same file loads
    shutil.move(env.refused / "incidenten_2024-W47.csv", env.inbox / "incidenten_2024-W47.csv")
    monkeypatch.setenv("VEILIGHEID_MAX_BAD_ROWS_PCT", "40")
    from veiligheid.config import Config

    cfg = Config.from_env(warehouse=str(env.warehouse), inbox=str(env.inbox))
    f2 = one(run_ingest(cfg))
    assert f2.status == "loaded" and f2.rows_loaded == 4 and f2.rows_quarantined == 2


def test_cli_json_and_exit_codes(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.1.1", xy))
    write(env.inbox, "rommel.csv", "a;b\n")
    out = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse), "--json")
    assert out.returncode == 3, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) >= {"run_id", "warehouse", "files"}
    keys = {"file", "kind", "week", "status", "rows_read", "rows_loaded", "rows_quarantined", "rows_new",
            "rows_replaced", "reason"}
    assert all(keys <= set(f) for f in doc["files"])
    by = {f["file"]: f for f in doc["files"]}
    assert by["incidenten_2024-W47.csv"]["status"] == "loaded" and by["rommel.csv"]["status"] == "refused"
    # plain log lines on stderr when not on a terminal (cron)
    assert "bestand incidenten_2024-W47.csv" in out.stderr
    # everything loaded or skipped -> 0
    write(env.inbox, "incidenten_2024-W48.csv", INC_HEAD + inc_row("A2", "25-11-2024", "1.1.1", xy))
    out = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["files"][0]["rows_new"] == 1
    # usage and configuration errors -> 2
    assert cli("ingest", "--bogus").returncode == 2
    bad = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse),
              env_extra={"VEILIGHEID_MAX_BAD_ROWS_PCT": "veel"})
    assert bad.returncode == 2 and "ongeldige instelling" in bad.stderr


def test_unexpected_failure_leaves_warehouse_and_inbox_unchanged(env, buurten_rd, monkeypatch):
    import pipelines.ingest as ingest

    xy = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.1.1", xy))
    write(env.inbox, "incidenten_2024-W48.csv", INC_HEAD + inc_row("A2", "25-11-2024", "1.1.1", xy))
    before = (env.warehouse.stat().st_ino, q(env, "SELECT value FROM meta WHERE key='version'"))
    calls = []

    def boom(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk vol")
        return real(*a, **k)

    real = ingest.merge
    monkeypatch.setattr(ingest, "merge", boom)
    with pytest.raises(RuntimeError):
        run_ingest(env)
    assert (env.warehouse.stat().st_ino, q(env, "SELECT value FROM meta WHERE key='version'")) == before
    assert q(env, "SELECT count(*) FROM incidenten")[0][0] == 0  # not even the first file
    assert sorted(p.name for p in env.inbox.iterdir()) == ["incidenten_2024-W47.csv", "incidenten_2024-W48.csv"]
    monkeypatch.setattr(ingest, "merge", real)
    assert run_ingest(env).exit_code == 0
    assert q(env, "SELECT count(*) FROM incidenten")[0][0] == 2


def test_cli_unexpected_failure_exit_1(env, buurten_rd):
    env.warehouse.write_bytes(b"this is not a duckdb file" * 100)
    xy = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.1.1", xy))
    out = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse))
    assert out.returncode == 1
    assert "ongewijzigd" in out.stderr
    assert env.warehouse.read_bytes().startswith(b"this is not")
    assert (env.inbox / "incidenten_2024-W47.csv").exists()


def test_file_without_any_location_column_is_refused(env):
    write(env.inbox, "registraties_2024-W45.csv", "registratie_id;datum;bron;categorie\nR1;01-11-2024;MOR;Overig\n")
    f = one(run_ingest(env))
    assert f.status == "refused"
    assert "x_rd, lat, buurtcode, wijkcode" in f.reason and "verplicht" in f.reason


def test_second_ingest_waits_for_the_first_and_gives_up_clearly(env, buurten_rd):
    from veiligheid.warehouse import exclusive_lock

    xy = inside(buurten_rd, "BU02680101")
    write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "01-11-2024", "1.1.1", xy))
    with exclusive_lock(env.warehouse, timeout=1):
        out = cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse),
                  env_extra={"VEILIGHEID_LOCK_TIMEOUT": "1"})
    assert out.returncode == 2 and "andere ingest" in out.stderr
    assert (env.inbox / "incidenten_2024-W47.csv").exists()
    assert cli("ingest", "--inbox", str(env.inbox), "--warehouse", str(env.warehouse)).returncode == 0


def test_line_numbers_with_blank_lines_and_no_quotes(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    text = (INC_HEAD + inc_row("A1", "18-11-2024", "1.1.1", xy) + "\n\n"
            + "".join(inc_row(f"A{i}", "18-11-2024", "1.1.1", xy) for i in range(2, 10))
            + "\n" + inc_row("BAD", "18-11-2024", "7.7.7", xy))
    write(env.inbox, "incidenten_2024-W47.csv", text)  # header 1, A1 2, blanks 3-4, A2..A9 5-12, blank 13, BAD 14
    f = one(run_ingest(env))
    assert f.rows_read == 10 and f.rows_quarantined == 1
    assert q(env, "SELECT line, value FROM quarantine") == [(14, "7.7.7")]


# ---------------------------------------------------------------- messy exports (review findings)
REG_HEAD = "registratie_id;datum;bron;categorie;omschrijving;buurtcode\n"


def reg_rows(n, start=0):
    return "".join(f"R{i};01-11-2024;MOR;Overig;ok;BU02680101\n" for i in range(start, start + n))


@pytest.mark.parametrize("bad", ['RX;01-11-2024;MOR;Overig;"zei "ja" toen";BU02680101\n',
                                 'RX;01-11-2024;MOR;Overig;"niet afgesloten;BU02680101\n'])
def test_unbalanced_quotes_refuse_the_file_instead_of_losing_rows(env, bad):
    write(env.inbox, "registraties_2024-W45.csv", REG_HEAD + reg_rows(4) + bad + reg_rows(4, 10))
    res = run_ingest(env)
    f = one(res)
    assert f.status == "refused" and res.exit_code == 3
    assert "aanhalingstekens" in f.reason or "niet te lezen" in f.reason
    assert q(env, "SELECT count(*) FROM registraties")[0][0] == 0
    assert (env.refused / "registraties_2024-W45.csv").exists()


def test_quoted_newlines_trailing_delimiters_and_empty_rows(env):
    text = (REG_HEAD + 'R1;01-11-2024;MOR;Overig;"twee\nregels";BU02680101\n'
            "R2;01-11-2024;MOR;Overig;ok;BU02680101;\n"  # trailing delimiter: an empty extra field
            ";;;;;\n"  # a row without any value is not data
            + reg_rows(3, 3))
    write(env.inbox, "registraties_2024-W45.csv", text)
    f = one(run_ingest(env))
    assert f.status == "loaded", f.reason
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (5, 5, 0)
    assert q(env, "SELECT omschrijving FROM registraties WHERE registratie_id='R1'") == [("twee\r\nregels",)]


def test_bom_with_windows_1252_bytes(env):
    data = b"\xef\xbb\xbf" + (REG_HEAD + "R1;01-11-2024;MOR;Overig;caf\xe9 \xe9\xe9n;BU02680101\n").encode("latin-1")
    (env.inbox / "registraties_2024-W45.csv").write_bytes(data)
    f = one(run_ingest(env))
    assert f.status == "loaded", f.reason
    assert q(env, "SELECT omschrijving FROM registraties") == [("café één",)]


def test_amounts_with_thousands_only(env):
    text = ("aangifte_id;aangiftedatum;delict;leeftijd;schadebedrag;woon_buurtcode\n"
            "C1;01-11-2024;Phishing;30;1.500;BU02680101\nC2;01-11-2024;Phishing;30;1,500;BU02680101\n"
            "C3;01-11-2024;Phishing;30;12,5;BU02680101\nC4;01-11-2024;Phishing;30;2.000.000;BU02680101\n")
    write(env.inbox, "cyber_slachtoffers_2024-W45.csv", text)
    assert one(run_ingest(env)).rows_loaded == 4
    assert dict(q(env, "SELECT aangifte_id, schadebedrag FROM cyber_slachtoffers")) == {
        "C1": 1500.0, "C2": 1500.0, "C3": 12.5, "C4": 2_000_000.0}


def test_xlsx_numeric_codes_lose_no_leading_zero(env):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["aangifte_id", "aangiftedatum", "delict", "leeftijd", "woon_buurtcode"])
    ws.append(["C1", "01-11-2024", "Phishing", 30, 2680101])  # Excel made 02680101 a number
    ws.append(["C2", "01-11-2024", "Phishing", 31, "BU02680202"])
    wb.save(env.inbox / "cyber_slachtoffers_2024-W45.xlsx")
    f = one(run_ingest(env))
    assert f.rows_loaded == 2, f
    assert dict(q(env, "SELECT aangifte_id, buurtcode FROM cyber_slachtoffers")) == {"C1": "BU02680101",
                                                                                     "C2": "BU02680202"}


def test_unknown_code_beside_valid_coordinates_is_a_bad_value(env, buurten_rd):
    xy = inside(buurten_rd, "BU02680101")
    text = (INC_HEAD.strip() + ";buurtcode\n" + "".join(inc_row(f"A{i}", "18-11-2024", "1.1.1", xy).strip() + ";\n"
                                                      for i in range(9))
            + inc_row("B1", "18-11-2024", "1.1.1", xy).strip() + ";BU99990000\n")
    write(env.inbox, "incidenten_2024-W47.csv", text)
    f = one(run_ingest(env))
    assert (f.rows_loaded, f.rows_quarantined) == (9, 1)
    assert q(env, "SELECT \"column\", value, reason FROM quarantine") == [("buurtcode", "BU99990000", "onbekende buurtcode")]


def test_refusal_reason_in_warehouse_carries_no_data_values(env):
    # a headerless export: the first record becomes the "header"
    write(env.inbox, "registraties_2024-W45.csv", "R1;01-11-2024;MOR;Overig;Jan Jansen belde over buren;BU02680101\n")
    f = one(run_ingest(env))
    assert f.status == "refused"
    assert "Jansen" not in f.reason
    assert "Jansen" not in q(env, "SELECT string_agg(reason, ' ') FROM ingest_files")[0][0]
    reden = (env.refused / "registraties_2024-W45.csv.reden.txt").read_text(encoding="utf-8")
    assert "Jansen" in reden and "verplichte kolom ontbreekt" in reden  # the detail is beside the file only


def test_file_changed_during_the_run_stays_in_the_inbox(env, buurten_rd, monkeypatch):
    import pipelines.ingest as ingest

    xy = inside(buurten_rd, "BU02680101")
    path = write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A1", "18-11-2024", "1.1.1", xy))
    real = ingest.merge

    def merge_and_redeliver(*a, **k):
        real(*a, **k)
        write(env.inbox, "incidenten_2024-W47.csv", INC_HEAD + inc_row("A2", "18-11-2024", "1.1.1", xy))

    monkeypatch.setattr(ingest, "merge", merge_and_redeliver)
    assert one(run_ingest(env)).status == "loaded"
    assert path.exists()  # the new delivery was not read, so it is not moved to processed/
    monkeypatch.setattr(ingest, "merge", real)
    assert one(run_ingest(env)).rows_new == 1
    assert sorted(r[0] for r in q(env, "SELECT registratienummer FROM incidenten")) == ["A1", "A2"]
