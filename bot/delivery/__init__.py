"""Scheduled delivery: what a digest or DM says (``compose``), when the feed can be trusted
(``freshness``), the platform port (``courier``), the dispatcher that plans and sends through
the ledger exactly once, the alarm clock (``clockwork``) and ``demo --simulate``.

Imports :mod:`bot.model`, :mod:`bot.grammar`, :mod:`bot.store`, :mod:`bot.search` and
:mod:`bot.sources`; never :mod:`bot.service`, the CLI or any adapter.
"""
