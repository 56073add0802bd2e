"""Roles and what each may see: the single source of truth for pages, exports and navigation.

- wijkteam: all dashboards, aggregated figures only, disclosure control on, no points, no free text,
  no quarantine rows.
- analist: unsuppressed figures, point layers, the current 13b closures, quarantine rows, all exports.
- beheer: everything of analist, plus ingest runs, refused files and the audit log.
A page or element that a role may not see is not rendered at all (pages check these properties
before they query, so the data never reaches the browser).
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import min_count
from .disclosure import Policy

ROLES: dict[str, str] = {
    "wijkteam": "Wijkteam",
    "analist": "Analist",
    "beheer": "Beheer",
}
DOMAINS = ("default", "cyber", "hennep")  # disclosure thresholds per kind of data


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the login name, the role, how they logged in and (wijkteam) their Veiliger Wijkteam.

    team: the name of the user's Veiliger Wijkteam (from the account or the OIDC team mapping), or None.
    It decides which team's priorities a wijkteam member may record and end (veiligheid.register), not
    what they may see: every role sees every stadsdeel."""
    user: str
    role: str
    method: str = "lokaal"  # 'lokaal' (local account) or 'oidc'
    display_name: str = ""
    team: str | None = None

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"onbekende rol: {self.role!r}")
        if self.team is not None and not str(self.team).strip():
            object.__setattr__(self, "team", None)  # an empty team is no team

    @property
    def unsuppressed(self) -> bool:
        return self.role in ("analist", "beheer")

    @property
    def points(self) -> bool:
        """Point locations (incidents, hennep cases) and address-level lists such as current 13b closures."""
        return self.role in ("analist", "beheer")

    @property
    def free_text(self) -> bool:
        """Free text fields such as `omschrijving`."""
        return self.role in ("analist", "beheer")

    @property
    def quarantine_rows(self) -> bool:
        return self.role in ("analist", "beheer")

    @property
    def admin(self) -> bool:
        """Ingest runs, refused files, the audit log."""
        return self.role == "beheer"

    def policy(self, domain: str = "default") -> Policy:
        """The disclosure policy for this viewer and kind of data (threshold from configuration)."""
        return Policy(threshold=min_count(domain), active=not self.unsuppressed)

    @property
    def label(self) -> str:
        """'kees (wijkteam)', or with a team: 'kees (wijkteam, Veiliger Wijkteam Oost)'."""
        team = f", {self.team}" if self.team and self.role == "wijkteam" else ""
        return f"{self.display_name or self.user} ({ROLES[self.role].lower()}{team})"
