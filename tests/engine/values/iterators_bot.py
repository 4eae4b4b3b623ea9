"""Loops over dicts, sets and lists that the program changes while the loop is paused."""

import collections

from autograms import autograms_function
from autograms.functional import reply

TABLE = {"x": 1, "y": 2}


@autograms_function()
def size_change_in_items_loop():
    d = {"a": 1, "b": 2}
    seen = []
    try:
        for k, v in d.items():
            seen.append(reply(f"{k}={v}"))
            d["c"] = 30
    except RuntimeError as exc:
        reply(f"items loop: {exc}")
    return d, seen


@autograms_function()
def values_loop_sees_updates():
    d = {"a": 1, "b": 2, "c": 3}
    out = []
    for v in d.values():
        out.append(v)
        reply(f"value {v}")
        d["c"] += 100
    return out


@autograms_function()
def keys_loop_over_delete_and_insert():
    d = {"a": 1, "b": 2, "c": 3}
    out = []
    for k in d:
        if k == "a":
            del d["b"]
            d["z"] = 26
        out.append(k)
        reply(f"key {k}")
    return out


@autograms_function()
def size_changed_before_the_pause():
    d = {"a": 1}
    try:
        for k in d:
            d[k + "!"] = 0
            reply(f"{k}: grew to {len(d)}")
    except RuntimeError as exc:
        reply(f"after the pause: {exc}")
    return sorted(d)


@autograms_function()
def size_restored_before_the_next_step():
    d = {"a": 1, "b": 2}
    out = []
    for k in d:
        d["tmp"] = 0
        out.append(reply(f"{k} with tmp"))
        del d["tmp"]
    return out


@autograms_function()
def reversed_and_views():
    d = {"a": 1, "b": 2, "c": 3}
    keys, items = d.keys(), d.items()
    out = []
    for k in reversed(d):
        d[k] *= 10
        out.append(reply(f"reversed {k}"))
    d["new"] = 4
    reply(f"views: {list(keys)} {sorted(items)}")
    for i, (k, v) in enumerate(zip(d.keys(), d.values(), strict=False)):
        reply(f"{i}: {k}={v}")
        d[k] = -v
    return out, dict(d)


@autograms_function()
def set_loops():
    grows = {1, 2, 3}
    try:
        for x in grows:
            reply(f"set item {x}")
            grows.add(x + 10)
    except RuntimeError as exc:
        reply(f"set loop: {exc}")
    total = 0
    for x in frozenset({4, 5}):
        total += x
        reply(f"frozen item {x}")
    return sorted(grows), total


@autograms_function()
def list_and_module_dict_loops():
    items = [1, 2]
    for x in items:
        reply(f"list item {x}")
        if len(items) < 4:
            items.append(x * 10)
    keys = []
    for k in TABLE:
        keys.append(k)
        reply(f"module table key {k}")
    return items, keys


@autograms_function()
def ordered_dict_loops():
    od = collections.OrderedDict(a=1, b=2, c=3)
    seen = []
    for k, v in od.items():
        seen.append((k, v, reply(f"ordered item {k}")))
        od["c"] = 30
    for k in reversed(od):
        seen.append(reply(f"reversed key {k}"))
    try:
        for v in od.values():
            seen.append(reply(f"ordered value {v}"))
            od["new"] = v
    except RuntimeError as exc:
        seen.append(str(exc))
    keys = od.keys()
    try:
        for k in keys:
            seen.append(reply(f"ordered key {k}"))
            od.move_to_end(k)
    except RuntimeError as exc:
        seen.append(f"{exc}; left {list(keys)}")
    return seen


@autograms_function()
def chatbot():
    results = [
        size_change_in_items_loop(),
        values_loop_sees_updates(),
        keys_loop_over_delete_and_insert(),
        size_changed_before_the_pause(),
        size_restored_before_the_next_step(),
        reversed_and_views(),
        set_loops(),
        list_and_module_dict_loops(),
        ordered_dict_loops(),
    ]
    reply(f"results: {results!r}")
