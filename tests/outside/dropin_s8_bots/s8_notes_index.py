"""A bot that keeps a per-user NumpyIndex in a local across pauses (AutoGRAMS' agent_modules)."""

from autograms import autograms_function
from autograms.agent_modules.vector_stores import NumpyIndex
from autograms.functional import reply

RESULTS = {}


@autograms_function()
def chatbot():
    notes = []
    index = None
    while True:
        message = reply("Send a note, +note to add one to the index, or ?query.", ADDRESS="loop")
        if message.startswith("?"):
            RESULTS["hits"] = index.similarity_search(message[1:], k=2)
            RESULTS["restricted"] = index.similarity_search_restricted(
                message[1:], k=1, indices=[1, 2]
            )
        elif message.startswith("+"):
            index.add_texts([{"text": message[1:], "metadata": {"n": len(notes)}}])
            notes.append(message[1:])
        else:
            notes.append(message)
            index = NumpyIndex.from_texts(
                [{"text": t, "metadata": {"n": i}} for i, t in enumerate(notes)]
            )
