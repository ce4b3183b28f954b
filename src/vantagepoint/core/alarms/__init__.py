"""Alarms at the core: storing what nodes raise, watching derived results, delivering
alarms to notifier plugins, and scheduling the follow-ups they ask for."""
