"""Canonical paper identity: the bare arXiv id, lower-cased, without a version.

Everything that names a paper (``2608.17271v2``, ``arXiv:2608.17271``,
``https://arxiv.org/abs/2608.17271``, ``https://arxiv.org/pdf/2608.17271v1.pdf``,
``https://huggingface.co/papers/2608.17271``, old-style ``hep-th/9901001``) maps to one
string, so the same paper is never stored, matched or delivered twice.
"""

from __future__ import annotations

import re

from bot.errors import UserInputError

# New-style ids (2007+): YYMM.NNNN (to 2014) or YYMM.NNNNN, optional version.
_NEW = r"\d{4}\.\d{4,5}"
# Old-style ids: archive(.subject class)/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = r"[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7}"
_ID = re.compile(rf"(?P<id>{_NEW}|{_OLD})(?:v\d+)?", re.IGNORECASE)
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
        shown = text.strip()[:60] or "(nothing)"
        raise UserInputError(
            f"“{shown}” is not an arXiv id or paper URL. "
            "Try `show 2608.17271` or `show https://arxiv.org/abs/2608.17271`."
        )
    return pid
