"""Pauses inside try/except/finally: handlers behave as if never interrupted."""

import sys

from tests.engine.harness import Case, checkpoint, resumable


class Problem(Exception):
    pass


@resumable
def raiser(kind):
    answer = checkpoint(f"raise {kind}?")
    if answer == "yes":
        raise Problem(kind)
    return answer


@resumable
def try_body():
    log = []
    try:
        log.append(checkpoint("in try"))
        log.append(int(checkpoint("number please")))
    except ValueError as exc:
        log.append(f"caught {exc}")
    else:
        log.append("else ran")
    return log


@resumable
def exception_after_resume_reaches_parent_handler():
    results = []
    for kind in ["first", "second"]:
        try:
            results.append(raiser(kind))
        except Problem as exc:
            results.append(("problem", str(exc), checkpoint("recovering")))
    return results


@resumable
def except_body_keeps_exception_state():
    try:
        raise KeyError("missing")
    except KeyError as exc:
        reply = checkpoint("inside except")
        info = sys.exc_info()[0].__name__
        handled = repr(exc)
        try:
            if reply == "reraise":
                raise
        except KeyError as again:
            return ("re-raised", info, handled, repr(again))
    return ("after except", sys.exc_info()[0])


@resumable
def bare_raise_after_resume():
    try:
        raise ValueError("original")
    except ValueError:
        checkpoint("about to re-raise")
        raise


@resumable
def finally_runs_once():
    events = []
    try:
        events.append(checkpoint("try of try/finally"))
    finally:
        events.append("finally")
        print("finally printed once")
    return events


@resumable
def pause_in_finally_normal_path():
    events = []
    try:
        events.append("body")
    finally:
        events.append(checkpoint("in finally"))
    return events


@resumable
def pause_in_finally_exception_path():
    events = []
    try:
        try:
            raise Problem("boom")
        finally:
            events.append(checkpoint("finally during exception"))
    except Problem as exc:
        events.append(f"caught {exc}")
    return events


@resumable
def nested_handlers():
    trail = []
    try:
        try:
            trail.append(checkpoint("inner try"))
            raise Problem("inner")
        except Problem:
            trail.append(checkpoint("inner except"))
            raise KeyError("from except")
        finally:
            trail.append(checkpoint("inner finally"))
    except KeyError as exc:
        trail.append(("outer", str(exc), checkpoint("outer except")))
    return trail


@resumable
def user_catches_base_exception():
    try:
        value = checkpoint("guarded by except BaseException")
    except BaseException:  # noqa: BLE001 - the pause must not be swallowed
        value = "swallowed!"
    return value


@resumable
def except_star():
    out = []
    try:
        checkpoint("before group")
        raise ExceptionGroup("group", [ValueError("v"), TypeError("t")])
    except* ValueError as group:
        out.append(("value", checkpoint("in except* ValueError"), len(group.exceptions)))
    except* TypeError:
        out.append(("type", checkpoint("in except* TypeError")))
    return out


@resumable
def except_star_reraise_after_resume():
    # the handled exception in an except* body is the part of the group it matched: a bare
    # raise after the resume re-raises that part, which the outer except* then handles
    out = []
    try:
        try:
            raise ExceptionGroup("outer", [ValueError("v"), KeyError("k")])
        except* ValueError:
            out.append("value")
        except* KeyError:
            out.append(("key", checkpoint("in except* KeyError"), repr(sys.exception())))
            raise
    except* KeyError as group:
        out.append(("outer", repr(group)))
    return out


@resumable
def exception_propagates_out_of_program():
    checkpoint("before failing")
    return {}["missing"]


CASES = {
    "try_body_ok": Case(try_body, (), ["a", "7"]),
    "try_body_raises_after_resume": Case(try_body, (), ["a", "seven"]),
    "exception_into_parent": Case(
        exception_after_resume_reaches_parent_handler, (), ["yes", "r1", "no"]
    ),
    "except_body_state": Case(except_body_keeps_exception_state, (), ["reraise"]),
    "except_body_no_reraise": Case(except_body_keeps_exception_state, (), ["keep"]),
    "bare_raise_after_resume": Case(bare_raise_after_resume, (), ["go"]),
    "finally_runs_once": Case(finally_runs_once, (), ["x"]),
    "pause_in_finally_normal_path": Case(pause_in_finally_normal_path, (), ["f"]),
    "pause_in_finally_exception_path": Case(pause_in_finally_exception_path, (), ["f"]),
    "nested_handlers": Case(nested_handlers, (), ["1", "2", "3", "4"]),
    "user_catches_base_exception": Case(user_catches_base_exception, (), ["kept"]),
    "except_star": Case(except_star, (), ["go", "v", "t"]),
    "except_star_reraise": Case(except_star_reraise_after_resume, (), ["k"]),
    "exception_propagates_out": Case(exception_propagates_out_of_program, (), ["go"]),
}
