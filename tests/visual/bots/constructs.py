"""Every construct the visualiser reads: import spellings, nodes, methods, nested functions,
elif chains, match, try, for/else with break and continue, with, EXIT, and broken labels."""

import autograms as ag
from autograms import autograms_function as conversation
from autograms import autograms_node
from autograms.functional import EXIT, GOTO, RETURNTO, multiple_choice, reply, thought

LABEL = "menu"


@autograms_node
def greet(name, ADDRESS=None):
    reply(f"Hello {name}!")


class Shop:
    @ag.autograms_function(conv_scope="normal")
    def browse(self):
        reply("What would you like to buy?", ADDRESS="browse")
        RETURNTO("nowhere")


@conversation()
def chatbot():
    greet("visitor", ADDRESS="greet")
    choice = multiple_choice("What does the user want?", ["shop", "help", "quit"])
    if choice == 0:
        Shop().browse()
    elif choice == 1:
        reply("How can I help?", ADDRESS=LABEL)
    else:
        EXIT()
    match choice:
        case 0:
            thought("shopping")
        case _:
            pass
    try:
        value = int(thought("a number"))
    except ValueError:
        value = 0
    for attempt in range(3):
        if attempt == value:
            break
        if attempt > 5:
            continue
        reply(f"attempt {attempt}")
    else:
        reply("no attempt matched")
    with open("log.txt", "a") as log:
        log.write("done")

    @conversation()
    def inner():
        reply("inside", ADDRESS=LABEL)
        GOTO(destination="missing")

    inner()
    GOTO(destination=LABEL + "_x")
    reply("duplicate", ADDRESS="greet")
