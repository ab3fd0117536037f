"""The disposables a lean subscription is made of: each disposes what it holds, once."""

from __future__ import annotations

from streams.subscriptions import NOTHING, Action, Many, Slot


class Counted:
    """A subscription that counts its disposals."""

    def __init__(self) -> None:
        self.disposals = 0

    def dispose(self) -> None:
        self.disposals += 1


def test_nothing_has_nothing_to_dispose():
    NOTHING.dispose()
    NOTHING.dispose()


def test_an_action_runs_on_the_first_dispose_only():
    ran: list[int] = []
    action = Action(lambda: ran.append(1))
    action.dispose()
    action.dispose()
    assert ran == [1]


def test_a_slot_disposes_what_it_held_when_something_new_is_put():
    slot, old, new = Slot(), Counted(), Counted()
    slot.put(old)
    slot.put(new)
    assert (old.disposals, new.disposals) == (1, 0)
    assert slot.current is new


def test_a_disposed_slot_disposes_what_it_holds_once():
    slot, held = Slot(), Counted()
    slot.put(held)
    slot.dispose()
    slot.dispose()
    assert held.disposals == 1
    assert slot.current is None


def test_what_is_put_in_a_disposed_slot_is_disposed_at_once():
    slot, late = Slot(), Counted()
    slot.dispose()
    slot.put(late)
    assert late.disposals == 1
    assert slot.current is None


def test_many_disposes_each_of_its_subscriptions_once():
    items = [Counted(), Counted(), Counted()]
    many = Many(*items)
    many.dispose()
    many.dispose()
    assert [item.disposals for item in items] == [1, 1, 1]
