"""Outside tests (s4) of per-session globals (README, "Per-session globals"): names defined in
``with set_persistent_globals():`` "behave as module globals whose values belong to each session,
inside decorated functions and the module's plain helpers alike; the module's own values are never
changed, so concurrent sessions cannot see each other". A team keeps such names in a settings
module of the bot's package and reaches them as ``settings.NAME``.
"""

import importlib
import sys

import pytest

from tests.outside import s4e_support as S


@pytest.fixture
def folder(tmp_path):
    path = str(tmp_path)
    yield path
    if path in sys.path:
        sys.path.remove(path)


def check(folder, modules, messages, modes=("inproc", "serde")):
    res = S.all_modes(folder, modules, messages, modes=modes)
    for mode in modes:
        assert res[mode] == res["plain"], (mode, res)


SETTINGS = """
    #HEADER
    from autograms.memory import set_persistent_globals

    with set_persistent_globals():
        LANG = "en"

    def set_lang(v):
        global LANG
        LANG = v

    def lang():
        return LANG
    """


def test_persistent_globals_in_helpers_lambdas_and_properties_hold_each_sessions_value(folder):
    check(
        folder,
        {
            "bot": """
            #HEADER
            from autograms.memory import init_user_globals, set_persistent_globals

            G = init_user_globals()
            G["hits"] = []
            with set_persistent_globals():
                LEVEL = 1
                CFG = {"mode": "x"}

            class Helper:
                def level(self):
                    return LEVEL

                @property
                def mode(self):
                    return CFG["mode"]

            read_level = lambda: LEVEL  # noqa: E731

            def setter(v):
                global LEVEL, CFG
                LEVEL = v
                CFG = dict(CFG, mode=str(v))

            @autograms_function()
            def chatbot():
                global LEVEL
                h = Helper()
                t = reply(f"{LEVEL} {h.level()} {read_level()} {h.mode} {G['hits']}")
                G["hits"].append(t)
                setter(len(G["hits"]) + 10)
                u = reply(f"{LEVEL} {h.level()} {read_level()} {h.mode} {G['hits']} {CFG}")
                LEVEL += 1
                reply(f"{u} {LEVEL} {sorted(G)}")
            """
        },
        ["hi", "a", "b", "c", "d", "e", "f"],
    )


def test_persistent_global_read_as_a_module_attribute_gives_the_sessions_value(folder):
    check(
        folder,
        {
            "settings": SETTINGS,
            "bot": """
            #HEADER
            from . import settings

            @autograms_function()
            def chatbot():
                t = reply(f"start {settings.LANG} {settings.lang()}")
                settings.set_lang(t)
                reply(f"set {settings.LANG} {settings.lang()} {getattr(settings, 'LANG')}")
            """,
        },
        ["hi", "fr", "x"],
        modes=("inproc", "serde", "fresh"),
    )


@pytest.mark.xfail(
    strict=True,
    reason="by design (README, 'Per-session globals'): globals() and vars(module) are the "
    "module's own namespace, so globals()['NAME'] gives the module's value, not the session's",
)
def test_globals_dict_of_a_persistent_global_gives_the_sessions_value(folder):
    check(
        folder,
        {
            "bot": """
            #HEADER
            from autograms.memory import set_persistent_globals

            with set_persistent_globals():
                SCORE = 0

            @autograms_function()
            def chatbot():
                global SCORE
                t = reply(f"score {SCORE}")
                SCORE = len(t) * 2
                reply(f"{SCORE} {globals()['SCORE']}")
            """
        },
        ["hi", "abc", "x"],
    )


def _two_sessions(folder, bot_source):
    pkg = S.write_package(folder, {"settings": SETTINGS, "bot": bot_source}, "inproc")
    bot = importlib.import_module(pkg + ".bot")
    from autograms import Autogram

    ag = Autogram(root_function=bot.chatbot, test_mode=True)
    ta, ma = ag.reply("hi")
    ta, ma = ag.reply("fr", memory_object=ma)
    tb, mb = ag.reply("hi")
    return pkg, ta, tb


def test_persistent_global_set_by_the_modules_own_helper_stays_in_its_session(folder):
    pkg, ta, tb = _two_sessions(
        folder,
        """
        #HEADER
        from . import settings

        @autograms_function()
        def chatbot():
            t = reply(f"start {settings.lang()}")
            settings.set_lang(t)
            reply(f"set {settings.lang()}")
        """,
    )
    assert (ta, tb) == ("set fr", "start en")
    assert vars(sys.modules[pkg + ".settings"])["LANG"] == "en"


def test_persistent_global_assigned_as_a_module_attribute_does_not_leak_to_other_sessions(
    folder,
):
    pkg, ta, tb = _two_sessions(
        folder,
        """
        #HEADER
        from . import settings

        @autograms_function()
        def chatbot():
            t = reply(f"start {settings.lang()}")
            settings.LANG = t
            reply(f"set {settings.lang()}")
        """,
    )
    assert tb == "start en"
    assert vars(sys.modules[pkg + ".settings"])["LANG"] == "en"
    assert ta == "set fr"


def test_class_attribute_changed_at_run_time_belongs_to_the_process_not_the_session(folder):
    # by design (README, "Per-session globals"): a class attribute, like any module state
    # outside set_persistent_globals(), is the module's; a process that resumes the session
    # without having run its earlier turns (a fresh process per turn) sees what the module
    # defines, as the same program restarted between turns would
    bot = """
        #HEADER
        class Counter:
            n = 0

        @autograms_function()
        def chatbot():
            Counter.n += 1
            t = reply(f"n {Counter.n}")
            Counter.n += 10
            reply(f"n {Counter.n} {t}")
        """
    res = S.all_modes(folder, {"bot": bot}, ["hi", "a", "b"], modes=("inproc", "serde", "fresh"))
    assert res["inproc"] == res["serde"] == res["plain"] == ["n 1", "n 11 a", None]
    assert res["fresh"] == ["n 1", "n 10 a", None]
