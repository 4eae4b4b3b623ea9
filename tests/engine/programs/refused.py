"""Programs whose pauses or jumps the engine must refuse with a clear ContinuationError."""

import contextlib
import socket
import threading

from autograms import _frames


def ask(payload=None):
    return _frames.pause(payload)


def comprehension():
    return [ask(i) for i in range(2)]


def lambda_call():
    return (lambda: ask("in lambda"))()


def generator_expression():
    return list(ask(i) for i in range(2))


def sort_key(number):
    return ask(number)


def through_sorted_key():
    return sorted([3, 1], key=sort_key)


def plain_generator():
    yield ask("gen")


def iterates_generator():
    return [*plain_generator()]


def plain_between():
    return inner_instrumented()


def inner_instrumented():
    return ask("inner")


def sandwich():
    return plain_between()


class Pausing:
    @property
    def value(self):
        return ask("property")

    def __add__(self, other):
        return ask("operator")


def through_property():
    return Pausing().value


def through_operator():
    return Pausing() + 1


def open_file_local():
    handle = open(__file__)  # noqa: SIM115 - the point is an open file across a pause
    ask("file open")
    handle.close()


def socket_local():
    sock = socket.socket()
    ask("socket open")
    sock.close()


def lock_local():
    lock = threading.Lock()
    ask(("lock", lock.locked()))


def thread_local():
    worker = threading.Thread(target=print)
    ask("thread object alive")
    return worker


def generator_local():
    numbers = (n for n in range(3))
    next(numbers)  # started: it holds a suspended frame (a generator not started is saved)
    ask("generator alive")
    return list(numbers)


def with_open():
    with open(__file__) as handle:
        ask("inside with open")
        return handle.read(1)


@contextlib.contextmanager
def managed():
    yield "resource"


def with_contextmanager():
    with managed() as resource:
        return ask(resource)


def goto_unknown():
    ask("x", ADDRESS="known")
    _frames.goto("unknown")


LABEL_TABLE = {"age": "age"}


def ask_at(payload, ADDRESS=None):  # noqa: N803 - the AutoGRAMS keyword
    return ask(payload)


def goto_to_a_computed_label():
    ask_at("x", ADDRESS=LABEL_TABLE["age"])  # computed: no label known when instrumented
    _frames.goto("age")


def goto_into_loop():
    ask("start", ADDRESS="start")
    for n in range(2):
        ask("in loop", ADDRESS="loop")
    _frames.goto("loop")


def goto_out_of_with():
    ask("start", ADDRESS="start")
    with contextlib.nullcontext():
        _frames.goto("start")


def goto_out_of_finally_body():
    ask("start", ADDRESS="start")
    try:
        _frames.goto("start")
    finally:
        print("finally")


def goto_leaves_local_unbound():
    value = 1
    ask("target", ADDRESS="target")
    print(value)
    del value
    _frames.goto("target")


def goto_out_of_finally_with_exception_in_flight():
    ask("start", ADDRESS="start")
    try:
        raise ValueError("in flight")
    finally:
        _frames.goto("start")


def returnto_unknown():
    return inner_returnto()


def inner_returnto():
    _frames.returnto("nowhere")


def asked(question):
    return ask(question)


def through_map():
    return list(map(asked, [1, 2]))


def through_map_after_resume():
    ask("first")
    return list(map(asked, [1, 2]))


def through_map_of_plain_helper_after_resume():
    ask("first")
    return list(map(ask, [1, 2]))


class Constructed:
    """Its __init__ is not instrumented: a pause in it cannot be resumed inside it."""

    def __init__(self):
        self.answer = ask("constructing")


def through_constructor():
    return Constructed()


def through_constructor_after_resume():
    ask("first")
    made = [Constructed() for _ in ()]  # a comprehension that never pauses costs nothing
    return made, Constructed()


class Counting(type):
    def __call__(cls, *args):
        return [super().__call__(*args)]


class MadeByMetaclass(metaclass=Counting):
    def __init__(self):
        self.answer = ask("constructing")


def through_metaclass_call():
    return MadeByMetaclass()


def constructors_through_map():
    return list(map(Initialised, [1, 2]))


class Initialised:
    def __init__(self, n):
        self.answer = ask(n)


def in_class_body():
    class Asking:
        answer = ask("class body")

    return Asking


def in_class_body_after_resume():
    ask("first")

    class Asking:
        answer = ask("class body")

    return Asking


def comprehension_after_resume():
    ask("first")
    return {n: asked(n) for n in range(2)}


def helper_defined_inside():
    def post_processing_helper(text):
        return ask(text).strip()

    return post_processing_helper("strip me")


def helper_with_a_closure(question):
    answer = ask(question)
    return (lambda: answer.strip())()


def helper_with_a_closure_post_processes():
    return helper_with_a_closure("closure")


def helper_in_try(question):
    try:
        return ask(question)
    finally:
        pass


def helper_pauses_in_a_try_after_resume():
    ask("first")
    return helper_in_try("in try")


class PausingExit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        ask("exit")


class PausingEnter:
    def __enter__(self):
        return ask("enter")

    def __exit__(self, *exc):
        pass


def in_exit():
    with PausingExit():
        ask("body")


def in_enter():
    with PausingEnter():
        pass


INSTRUMENTED = [
    PausingExit.__exit__,
    PausingEnter.__enter__,
    in_exit,
    in_enter,
    helper_defined_inside,
    helper_with_a_closure_post_processes,
    helper_pauses_in_a_try_after_resume,
    asked,
    through_map,
    through_map_after_resume,
    through_map_of_plain_helper_after_resume,
    through_constructor,
    through_constructor_after_resume,
    MadeByMetaclass.__init__,
    through_metaclass_call,
    Initialised.__init__,
    constructors_through_map,
    in_class_body,
    in_class_body_after_resume,
    comprehension_after_resume,
    comprehension,
    lambda_call,
    generator_expression,
    through_sorted_key,
    iterates_generator,
    inner_instrumented,
    sandwich,
    through_property,
    through_operator,
    open_file_local,
    socket_local,
    lock_local,
    thread_local,
    generator_local,
    with_open,
    with_contextmanager,
    goto_unknown,
    goto_to_a_computed_label,
    goto_into_loop,
    goto_out_of_with,
    goto_leaves_local_unbound,
    goto_out_of_finally_body,
    goto_out_of_finally_with_exception_in_flight,
    returnto_unknown,
    inner_returnto,
]
for _function in INSTRUMENTED:
    _frames.instrument(_function)
