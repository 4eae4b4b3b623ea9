"""A retrieval bot in the shape of AutoGRAMS' doc-search example: ``init_chatbot`` builds a
module-level `AutoIndex` from a folder of documents (run under ``use_config``), and a
``conv_scope="normal"`` function searches it and puts the hits into its system prompt."""

import os

from autograms import autograms_function
from autograms.agent_modules.vector_stores import AutoIndex
from autograms.functional import (
    append_system_prompt,
    extract_last_user_reply,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
    yes_or_no,
)

index = None
#: (query, hits) of every search (read by the tests)
SEARCHES = []


def read_docs(folder):
    docs = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith((".md", ".txt")):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as handle:
                    for part in handle.read().split("\n\n"):
                        if part.strip():
                            docs.append({"text": part.strip(), "metadata": {"file_name": path}})
    return docs


def init_chatbot(docs_folder="docs", index_library="auto"):
    global index
    index = AutoIndex.from_texts(read_docs(docs_folder), index_library=index_library)


@autograms_function()
def chatbot():
    set_system_prompt("You answer questions about the documents.")
    reply("Hello! Ask me about the documents.")
    doc_info = None
    while True:
        question = extract_last_user_reply()
        if doc_info is not None and yes_or_no(f"Is this relevant to '{question}'?\n{doc_info}"):
            reply_instruction(f"Answer from:\n{doc_info}")
            continue
        doc_info = retrieve(question)
        give_reply(doc_info)


@autograms_function(conv_scope="normal")
def retrieve(question):
    query = question if question else thought("What should we search for?")
    hits = index.similarity_search(query, k=2)
    SEARCHES.append((query, hits))
    for hit in hits:
        append_system_prompt(f"Context: {hit['text']}")
    return "\n\n".join(hit["text"] for hit in hits)


@autograms_function()
def give_reply(doc_info):
    append_system_prompt(f"Information:\n{doc_info}")
    reply_instruction("Answer the user's question.")
