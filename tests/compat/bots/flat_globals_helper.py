"""A second module with user globals of its own (``memory_dict['user_globals']`` shows both
modules' names in one dict, as AutoGRAMS' shared dict did)."""

from autograms.memory import init_user_globals

H = init_user_globals()
H["seen"] = 0


def note() -> int:
    H["seen"] += 1
    return H["seen"]
