"""What a lean operator hands back from ``subscribe``: the small disposables it is made of.

reactivex's ``SingleAssignmentDisposable``, ``SerialDisposable`` and ``CompositeDisposable`` each
make a re-entrant lock, for subscriptions disposed from any thread; ours are disposed on the one
event loop, so these are the same shapes without the locks (``streams/lean.py`` says why that
matters). Each disposes what it holds at most once.
"""

from __future__ import annotations

from collections.abc import Callable

from reactivex import abc


class Nothing(abc.DisposableBase):
    """The subscription of something that has already ended: there is nothing to dispose."""

    __slots__ = ()

    def dispose(self) -> None:
        return None


NOTHING = Nothing()


class Action(abc.DisposableBase):
    """Runs ``action`` on the first ``dispose``."""

    __slots__ = ("action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self.action: Callable[[], None] | None = action

    def dispose(self) -> None:
        action, self.action = self.action, None
        if action is not None:
            action()


class Slot(abc.DisposableBase):
    """Holds the current subscription of something that may be replaced (a retry's next attempt):
    putting a new one disposes the old, and once the slot is disposed whatever is put is disposed."""

    __slots__ = ("current", "disposed")

    def __init__(self) -> None:
        self.current: abc.DisposableBase | None = None
        self.disposed = False

    def put(self, subscription: abc.DisposableBase) -> None:
        if self.disposed:
            subscription.dispose()
            return
        old, self.current = self.current, subscription
        if old is not None:
            old.dispose()

    def dispose(self) -> None:
        if not self.disposed:
            self.disposed = True
            current, self.current = self.current, None
            if current is not None:
                current.dispose()


class Many(abc.DisposableBase):
    """Several subscriptions disposed together."""

    __slots__ = ("items",)

    def __init__(self, *items: abc.DisposableBase) -> None:
        self.items: tuple[abc.DisposableBase, ...] | None = items

    def dispose(self) -> None:
        items, self.items = self.items, None
        for item in items or ():
            item.dispose()
