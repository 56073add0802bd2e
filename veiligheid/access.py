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
    """Who is looking: the login name, the role and how they logged in."""
    user: str
    role: str
    method: str = "lokaal"  # 'lokaal' (local account) or 'oidc'
    display_name: str = ""

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"onbekende rol: {self.role!r}")

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
        return f"{self.display_name or self.user} ({ROLES[self.role].lower()})"
