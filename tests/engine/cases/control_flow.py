"""Pauses inside loops, branches and match statements."""

from tests.engine.harness import Case, checkpoint, resumable


@resumable
def for_over_list(items):
    seen = []
    for item in items:
        seen.append((item, checkpoint(f"item {item}")))
    return seen


@resumable
def for_over_range_with_step():
    total = 0
    for i in range(10, 0, -3):
        total += i * int(checkpoint(i))
    return total


@resumable
def for_enumerate_zip():
    out = []
    for index, (a, b) in enumerate(zip("xyz", [1, 2, 3])):
        out.append(f"{index}{a}{b}{checkpoint((index, a, b))}")
    return out


@resumable
def for_dict_views():
    data = {"a": 1, "b": 2, "c": 3}
    keys = [k + checkpoint(k) for k in ["only-list"]] if False else []
    for key in data:
        keys.append(key + checkpoint(("key", key)))
    for key, value in data.items():
        keys.append(f"{key}={value}:{checkpoint(('item', key))}")
    for value in data.values():
        keys.append(value * 10 + len(checkpoint(("value", value))))
    return keys


@resumable
def for_over_string():
    letters = ""
    for char in "abc":
        letters += char.upper() + checkpoint(char)
    return letters


@resumable
def while_loop(limit):
    count = 0
    answers = []
    while count < limit:
        answers.append(checkpoint(count))
        count += 1
    return answers


@resumable
def while_condition_pauses():
    turns = 0
    while checkpoint(f"continue? {turns}") != "stop":
        turns += 1
    return turns


@resumable
def for_else_and_while_else():
    found = None
    for n in [1, 2, 3]:
        if checkpoint(("look", n)) == "hit":
            found = n
            break
    else:
        found = checkpoint("for-else reached")
    k = 0
    while k < 2:
        k += 1
        checkpoint(("while", k))
    else:
        found = (found, checkpoint("while-else reached"))
    return found


@resumable
def if_elif_else(kind):
    answer = checkpoint("which branch?")
    if answer == "a":
        result = "A:" + checkpoint("in a")
    elif answer == "b" and kind:
        result = "B:" + checkpoint("in b")
    else:
        result = "other:" + checkpoint("in else")
    return result


@resumable
def nested_loops():
    grid = []
    for row in range(2):
        line = []
        j = 0
        while j < 2:
            for _ in "x":
                line.append(checkpoint((row, j)))
            j += 1
        grid.append(line)
    return grid


@resumable
def match_statement(command):
    match command:
        case ["go", direction]:
            return "going " + checkpoint(direction)
        case {"say": text} if checkpoint(("guard", text)) == "ok":
            return "said " + text
        case {"say": text}:
            return "refused " + checkpoint("refused")
        case _:
            return checkpoint("default")


CASES = {
    "for_over_list": Case(for_over_list, (["p", "q", "r"],), ["1", "2", "3"]),
    "for_over_range_with_step": Case(for_over_range_with_step, (), ["1", "2", "3", "4"]),
    "for_enumerate_zip": Case(for_enumerate_zip, (), ["i", "j", "k"]),
    "for_dict_views": Case(for_dict_views, (), [str(n) for n in range(9)]),
    "for_over_string": Case(for_over_string, (), ["-", "+", "*"]),
    "while_loop": Case(while_loop, (3,), ["a", "b", "c"]),
    "while_condition_pauses": Case(while_condition_pauses, (), ["go", "go", "stop"]),
    "for_else_reached": Case(for_else_and_while_else, (), ["no", "no", "no", "E", "w1", "w2", "W"]),
    "for_break": Case(for_else_and_while_else, (), ["no", "hit", "w1", "w2", "W"]),
    "if_branch_a": Case(if_elif_else, (True,), ["a", "x"]),
    "if_branch_b": Case(if_elif_else, (True,), ["b", "y"]),
    "if_branch_else": Case(if_elif_else, (False,), ["b", "z"]),
    "nested_loops": Case(nested_loops, (), ["1", "2", "3", "4"]),
    "match_sequence": Case(match_statement, (["go", "north"],), ["fast"]),
    "match_guard_true": Case(match_statement, ({"say": "hi"},), ["ok"]),
    "match_guard_false": Case(match_statement, ({"say": "hi"},), ["no", "r"]),
    "match_default": Case(match_statement, (42,), ["d"]),
}
