"""Command-line pipelines: weekly ingest, reference areas, export, restore and demo data."""
