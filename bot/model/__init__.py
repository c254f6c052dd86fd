"""Values every layer shares: papers, paper ids, replies and cards, the caller, schedules,
delivery targets, keys and contents, and the text helpers that format them for people.

Pure: no I/O and no clock (time is a parameter). Imports only :mod:`bot.errors` and the
standard library (plus APScheduler's cron arithmetic in :mod:`bot.model.schedule`).
"""
