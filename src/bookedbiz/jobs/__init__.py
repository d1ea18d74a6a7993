"""Scheduled jobs: one runner with a lock, a time budget, outcome records and alerts."""

from bookedbiz.jobs.lock import JobLock, LockBusyError, job_lock_path, lock_is_held

__all__ = ["JobLock", "LockBusyError", "job_lock_path", "lock_is_held"]
