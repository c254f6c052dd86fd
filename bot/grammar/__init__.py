"""What people type: the ``/papers`` command grammar, the search query language, the options
of ``subscribe`` and ``digest on``, button values and the help text.

Pure parsing into values of :mod:`bot.model`; imports only :mod:`bot.model` and
:mod:`bot.errors`, never the store or any I/O.
"""
