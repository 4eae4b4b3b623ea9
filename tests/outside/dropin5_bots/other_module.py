from tests.outside.dropin5_bots import globals_bot


def add_hundred():
    globals_bot.counter = globals_bot.counter + 100
    return globals_bot.counter
