"""The domain. Functions take a SQLModel ``Session`` and plain objects, ``add``/``flush``
but never commit, and refuse with :class:`volunteer_app.errors.DomainError`.

Calls run one way: ``ledger``, ``codes``, ``idempotency`` and ``outbox`` at the bottom (with
``access`` and ``audit``); ``checkins`` may call ``shifts`` and ``recognition``; ``store``,
``tips`` and ``recognition`` call ``ledger``; ``dashboard`` and ``reports`` sum service hours
through ``hours``. Nothing below calls above; tests/test_architecture.py checks it.
"""
