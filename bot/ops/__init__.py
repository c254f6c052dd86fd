"""Operations: what an operator watches and ships while ``papersbot run`` goes on.

- :mod:`.metrics`: the Prometheus metrics (``prometheus-client``, one registry per app, never
  the global default), fed by the core through the :class:`~bot.observe.Observer` port and
  read from the store at each scrape;
- :mod:`.health`: ``/healthz``, ``/readyz`` and ``/metrics`` as platform-free answers
  (:class:`~bot.ops.health.Operations`), which the ops server and Slack's HTTP port serve;
- :mod:`.server`: the operations HTTP server (``PAPERSBOT_HEALTH_HOST``/``_PORT``);
- :mod:`.logs`: logging set-up, plain text or one JSON object per line, with secrets
  redacted in both.

Part of the composition root's layer: it may import every layer of the core; nothing below
imports it (the core only knows the observer port).
"""
