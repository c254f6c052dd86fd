"""The behaviour every adapter shares: the :class:`~bot.service.papersbot.PapersBot` facade
that answers commands and buttons, the scheduling commands, ``status`` and the per-user
command budgets.

Imports any core package below it (model, grammar, store, search, sources, delivery); never
the composition root (:mod:`bot.app`, :mod:`bot.cli`) or an adapter.
"""
