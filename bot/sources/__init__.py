"""Paper sources: Hugging Face, arXiv and recorded snapshots, over one injected httpx client,
and ``ingest``, which brings what they return into the store and records every attempt.

Imports :mod:`bot.model`, :mod:`bot.store`, :mod:`bot.identity` and :mod:`bot.errors`.
"""
