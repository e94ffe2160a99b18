"""none: keep the base model, never updated (the stale baseline)."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_utils.strategies._common import Step, Strategy, Update


@dataclass(frozen=True)
class NoneParams:
    """No settings: `none: {}` in params.yaml."""


def update(previous, step: Step) -> Update:
    """The previous model, unchanged; nothing is trained."""
    return Update(previous, windows_seen=0)


STRATEGY = Strategy(
    name="none",
    title="No update",
    what="The base model is kept as it is, whatever arrives: the stale baseline every other strategy has to "
         "beat. Its error on a new batch shows how much the data drifted away from the base period.",
    fits="nothing changed in the data",
    cost="It costs nothing, and forgets nothing, because it never learns.",
    params=NoneParams,
    update=update,
)
