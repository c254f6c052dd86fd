"""Reading the Prometheus text format back with prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str | bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by (name, labels)."""
    if isinstance(text, bytes):
        text = text.decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str | bytes, name: str, **labels: str) -> float | None:
    """One sample's value (``None`` when the exposition has no such sample)."""
    return samples(text).get((name, frozenset(labels.items())))


def families(text: str | bytes) -> dict[str, str]:
    """Every metric family's name (as the text names it) and type."""
    if isinstance(text, bytes):
        text = text.decode()
    return {
        line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")
    }
