"""The time-slot scheduler: requests, the calendar, policies, quotas, first fit."""
