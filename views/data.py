"""Page "Data": how fresh the data is and what went to quarantine; more per role.

- everyone: freshness per kind of file and quarantine counts per reason (never values);
- analist and beheer: the quarantined rows themselves (they may hold personal data);
- beheer: ingest runs, refused files and the audit log (with export).
Sections a role may not see are not rendered and their queries are not run.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from veiligheid import audit, fmt, ui, warmup

fresh = ui.freshness()
viewer = ui.viewer()
KIND_NAMES = {"incidenten": "Incidenten", "registraties": "Registraties (gemeente)",
              "cyber_slachtoffers": "Cyberslachtoffers", "hennep": "Hennepzaken"}


def _warmup_text(s: dict, current: str) -> str:
    """One line on the warm-up after a load (veiligheid.warmup), for beheer."""
    if not s["on"]:
        return ("Voorverwarmen staat uit (`VEILIGHEID_WARMUP_SECONDS` = 0): na een inlading rekent de eerste "
                "weergave van elke periode de onderdrukking zelf uit.")
    if s["busy"]:
        return f"Voorverwarmen: bezig met een nieuwe versie, sinds {fmt.datetime(s['busy'][1])}."
    last = s["last"]
    if last and last["steps"] == 0:
        return "Voorverwarmen: niets te doen (nog geen incidenten ingeladen)."
    if not last:
        return f"Voorverwarmen: nog niet gedaan; de app kijkt elke {fmt.number(s['every'])} s naar een nieuwe versie."
    which = "deze versie" if last["token"] == current else "een eerdere versie"
    text = (f"Voorverwarmd: {which}, klaar op {fmt.datetime(last['finished'])} in {fmt.number(last['seconds'], 1)} s "
            f"({last['done']} van {last['steps']} stappen): de onderdrukking van elke periode is al berekend.")
    if last["done"] < last["steps"]:
        text += " :orange[Niet alle stappen lukten; zie het log van de app. Die pagina's rekenen het zelf uit.]"
    return text


st.title("Data")
st.markdown("Hoe actueel de cijfers zijn, wat de wekelijkse inlading heeft gedaan en welke rijen zijn afgekeurd. "
            "De extractbestanden komen elke week binnen en worden automatisch ingeladen.")

c1, c2, c3 = st.columns(3)
c1.metric("Data t/m", fmt.week_label(fresh.data_week) if fresh.data_week else "–",
          help="De laatste ISO-week met incidenten.")
c2.metric("Laatste inlading", fmt.datetime(fresh.last_ingest) if fresh.last_ingest else "nooit")
c3.metric("Warehouseversie", fresh.version or "–")
if fresh.incomplete_week:
    st.info(f"{fmt.week_label(fresh.incomplete_week)} is nog niet voorbij: de cijfers van die week zijn onvolledig.")

st.subheader("Per soort bestand")
dw = ui.query("data_weeks")
st.dataframe(pd.DataFrame({
    "Soort": dw["soort"].map(KIND_NAMES).fillna(dw["soort"]),
    "Data t/m week": [fmt.week_label(w) + (" (onvolledig)" if w == fresh.current_week else "") if w else "–"
                      for w in dw["week"]],
    "Laatste datum": [fmt.date(d) if not pd.isna(d) else "–" for d in dw["laatste_datum"]],
    "Actuele records": [fmt.integer(n) for n in dw["records"]],
}), hide_index=True, width="stretch")

if viewer.admin:  # ingest runs and refused files: beheer only
    st.subheader("Inlaadrondes")
    runs = ui.query("ingest_runs", 20)
    if runs.empty:
        st.info("Er is nog geen inlaadronde geweest.")
    else:
        st.dataframe(pd.DataFrame({
            "Gestart": [fmt.datetime(t) for t in runs["started_at"]],
            "Klaar": [fmt.datetime(t) if not pd.isna(t) else "–" for t in runs["finished_at"]],
            "Versie": runs["version"],
            "Bestanden geladen": runs["files_loaded"],
            "Overgeslagen (al geladen)": runs["files_skipped"],
            "Geweigerd": runs["files_refused"],
            "Rijen geladen": [fmt.integer(n) for n in runs["rows_loaded"]],
            "Rijen in quarantaine": [fmt.integer(n) for n in runs["rows_quarantined"]],
        }), hide_index=True, width="stretch")
    st.caption(_warmup_text(warmup.status(), ui.token()))

    refused = ui.query("refused_files", 50)
    st.subheader("Geweigerde bestanden")
    if refused.empty:
        st.success("Geen geweigerde bestanden.")
    else:
        st.caption("Een geweigerd bestand is niet ingeladen en staat apart (map refused/) met de reden ernaast. "
                   "Laat de bron een verbeterde export aanleveren.")
        st.dataframe(pd.DataFrame({
            "Bestand": refused["file"], "Soort": refused["kind"].map(KIND_NAMES).fillna(refused["kind"]),
            "Week": refused["week"], "Reden": refused["reason"],
        }), hide_index=True, width="stretch")

st.subheader("Quarantaine")
st.caption("Rijen met een ongeldige waarde worden niet geteld maar apart bewaard. Hier staan de aantallen per "
           "bestand, soort en reden"
           + ("; daaronder de rijen zelf (alleen voor analisten en beheer: ze kunnen persoonsgegevens bevatten)."
              if viewer.quarantine_rows else "; de rijen zelf kunnen persoonsgegevens bevatten en worden niet getoond."))
q = ui.query("quarantine_counts")
if q.empty:
    st.success("Geen rijen in quarantaine.")
else:
    by_reason = q.groupby(["kind", "reason"], as_index=False)["rijen"].sum().sort_values("rijen", ascending=False)
    st.markdown("**Per soort en reden**")
    st.dataframe(pd.DataFrame({
        "Soort": by_reason["kind"].map(KIND_NAMES).fillna(by_reason["kind"]), "Reden": by_reason["reason"],
        "Rijen": by_reason["rijen"],
    }), hide_index=True, width="stretch")
    st.markdown("**Per bestand**")
    st.dataframe(pd.DataFrame({
        "Bestand": q["file"], "Soort": q["kind"].map(KIND_NAMES).fillna(q["kind"]), "Kolom": q["kolom"],
        "Reden": q["reason"], "Rijen": q["rijen"],
    }), hide_index=True, width="stretch", height=400)

if viewer.quarantine_rows and not q.empty:
    st.markdown("**De rijen in quarantaine** (nieuwste inlading eerst, hoogstens 1.000)")
    rows = ui.query("quarantine_rows", 1000)
    qshown = pd.DataFrame({
        "Ingeladen": [fmt.datetime(t) if not pd.isna(t) else "–" for t in rows["started_at"]],
        "Bestand": rows["file"], "Regel": rows["line"], "Kolom": rows["kolom"], "Waarde": rows["value"],
        "Reden": rows["reason"], "Hele regel": rows["record"],
    })
    st.dataframe(qshown, hide_index=True, width="stretch", height=400)
    ui.download_button("Download quarantainerijen (CSV)", ui.csv_bytes(qshown), file_name="quarantaine.csv",
                       mime="text/csv", what="quarantainerijen")

if viewer.admin:
    st.subheader("Auditlog")
    st.caption("Inloggen (gelukt en mislukt), exports (wie, wanneer, wat, welke filters) en geweigerde toegang. "
               "Het log wordt alleen aangevuld, nooit gewijzigd; elke regel bevat de vingerafdruk van de vorige en "
               "een zegel met een geheime sleutel.")
    log = audit.read()
    intact, broken = audit.verify()
    if not intact and broken == 0:
        st.error("De sleutel van het auditlog ontbreekt of is beschadigd, dus de zegels zijn niet te "
                 "controleren en nieuwe regels krijgen geen zegel. Zet de sleutel terug uit de back-up "
                 "(VEILIGHEID_AUDIT_KEY) en meld dit bij de informatiebeveiliging.", icon=":material/gpp_bad:")
    elif not intact:
        st.error(f"Het auditlog is aangepast of beschadigd vanaf regel {broken}. Meld dit bij de "
                 "informatiebeveiliging.", icon=":material/gpp_bad:")
    if log.empty:
        st.info("Het auditlog is nog leeg.")
    else:
        c1, c2 = st.columns(2)
        kinds = c1.multiselect("Soort gebeurtenis", sorted(log["gebeurtenis"].unique()), placeholder="Alle")
        who = c2.multiselect("Gebruiker", sorted(u for u in log["gebruiker"].unique() if u), placeholder="Iedereen")
        keep = pd.Series(True, index=log.index)
        if kinds:
            keep &= log["gebeurtenis"].isin(kinds)
        if who:
            keep &= log["gebruiker"].isin(who)
        shown_log = log[keep]
        table = pd.DataFrame({
            "Tijd": [fmt.datetime(t) for t in shown_log["tijd"]], "Gebeurtenis": shown_log["gebeurtenis"],
            "Gebruiker": shown_log["gebruiker"], "Rol": shown_log["rol"], "Details": shown_log["details"],
        })
        st.caption(f"{fmt.integer(len(table))} van {fmt.integer(len(log))} regels"
                   + (", log intact" if intact else ""))
        st.dataframe(table, hide_index=True, width="stretch", height=400)
        ui.download_button("Download auditlog (CSV)", ui.csv_bytes(table), file_name="auditlog.csv", mime="text/csv",
                           what="auditlog")
