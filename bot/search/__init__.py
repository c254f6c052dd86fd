"""Finding and ranking papers: the search engine over the store, the trending score, the
subscription matcher and the cards that present a paper.

Imports :mod:`bot.model`, :mod:`bot.grammar` and :mod:`bot.store`; nothing above them.
"""
