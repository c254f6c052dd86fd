"""Canonical paper identity: the bare arXiv id, lower-cased, without a version.

Everything that names a paper (``2608.17271v2``, ``arXiv:2608.17271``,
``https://arxiv.org/abs/2608.17271``, ``https://arxiv.org/pdf/2608.17271v1.pdf``,
``https://huggingface.co/papers/2608.17271``, old-style ``hep-th/9901001``) maps to one
string, so the same paper is never stored, matched or delivered twice.
"""

from __future__ import annotations

import re
import zlib

from bot.errors import UserInputError, shown

_NEW_PARTS = re.compile(r"([0-9]{2})([0-9]{2})\.([0-9]{4,5})")
_OLD_PARTS = re.compile(r"([a-z\-]+(?:\.[a-z]{2})?)/([0-9]{2})([0-9]{2})([0-9]{3})")

# New-style ids (2007+): YYMM.NNNN (to 2014) or YYMM.NNNNN, optional version.
_NEW = r"[0-9]{4}\.[0-9]{4,5}"
# Old-style ids: archive(.subject class)/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = r"[a-z][a-z\-]*(?:\.[a-z]{2})?/[0-9]{7}"
_ID = re.compile(rf"(?P<id>{_NEW}|{_OLD})(?:v[0-9]+)?", re.IGNORECASE | re.ASCII)
_PREFIXES = re.compile(
    r"^(?:arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/"
    r"|https?://(?:www\.)?(?:huggingface\.co|hf\.co)/papers/)",
    re.IGNORECASE,
)


def canonical_id(text: str) -> str | None:
    """Return the canonical id named by *text*, or ``None`` if it names no arXiv paper."""
    s = text.strip().strip("<>")
    s = _PREFIXES.sub("", s, count=1)
    s = s.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if s.lower().endswith(".pdf"):
        s = s[:-4]
    m = _ID.fullmatch(s)
    if m is None:
        return None
    return m.group("id").lower()


def require_id(text: str) -> str:
    """Like :func:`canonical_id` but raises a user-facing error for text that is no id."""
    pid = canonical_id(text)
    if pid is None:
        raise UserInputError(
            f"“{shown(text, 60) or '(nothing)'}” is not an arXiv id or paper URL. "
            "Try `show 2608.17271` or `show https://arxiv.org/abs/2608.17271`."
        )
    return pid


def chronological_key(paper_id: str) -> int | None:
    """An integer that grows with the paper's arXiv submission month and number.

    New-style ids (``2608.17271``) give ``2608_17271``-like integers above every old-style
    id (``hep-th/9901001``, 1991-2007), which are spread over months and archives. ``None``
    for anything else. The store uses it as the rowid, so "newest rowids" means
    "newest papers".
    """
    if m := _NEW_PARTS.fullmatch(paper_id):
        yy, mm, num = (int(g) for g in m.groups())
        return (yy * 100 + mm) * 100_000 + num
    if m := _OLD_PARTS.fullmatch(paper_id):
        archive, yy_s, mm_s, num_s = m.groups()
        year = 1900 + int(yy_s) if int(yy_s) >= 91 else 2000 + int(yy_s)
        month_index = (year - 1991) * 12 + int(mm_s) - 1
        bucket = zlib.crc32(archive.encode()) % 300
        return month_index * 300_000 + bucket * 1000 + int(num_s)
    return None
