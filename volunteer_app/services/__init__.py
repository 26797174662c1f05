"""The domain. Functions take a SQLModel ``Session`` and plain objects, ``add``/``flush``
but never commit, and refuse with :class:`volunteer_app.errors.DomainError`.

Calls run one way: ``ledger``, ``codes`` and ``audit`` at the bottom; ``checkins`` may call
``shifts`` and ``recognition``; ``store``, ``tips`` and ``recognition`` call ``ledger``.
"""
