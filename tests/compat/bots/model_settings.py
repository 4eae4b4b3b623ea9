"""A bot that passes per-call model settings to every model helper, the way AutoGRAMS' config
docs show (``reply_instruction("...", **model1_settings)``)."""

from pydantic import BaseModel

from autograms import autograms_function
from autograms.functional import (
    TRANSITION,
    call_chat_completion,
    call_classifier,
    call_completion,
    call_conv_model,
    call_llm,
    call_model,
    call_object_model,
    decision_chain,
    generate_fixed_dict,
    generate_fixed_list,
    generate_list,
    generate_list_of_choices,
    generate_list_of_dicts,
    generate_object,
    get_turn_history,
    local_thought,
    multiple_choice,
    reply,
    reply_instruction,
    reply_suffix,
    silent_thought,
    thought,
    thought_chain,
    thought_decision_chain,
    yes_or_no,
)
from autograms.nodes import location
from autograms.nodes import reply_instruction as node_reply_instruction
from autograms.nodes import thought as node_thought

model1_settings = {"model": "gpt-4o-mini", "max_tokens": 222, "temperature": 0.3}

#: what each helper returned, by name (read by the tests)
RESULTS = {}


class Plan(BaseModel):
    goal: str
    steps: list[str]


@autograms_function()
def chatbot():
    reply("Hi! Tell me about your day.", ADDRESS="greet")
    while True:
        location(ADDRESS="top")
        think()
        decide()
        generate()
        call_raw()
        respond()


@autograms_function()
def think():
    RESULTS["thought"] = thought("What is the user's mood?", **model1_settings)
    RESULTS["silent_thought"] = silent_thought("Summarize the user.", **model1_settings)
    RESULTS["local_thought"] = local_thought("Name a color.", "Be brief.", **model1_settings)
    RESULTS["node_thought"] = node_thought("Note something.", ADDRESS="note", **model1_settings)
    RESULTS["call_conv_model"] = call_conv_model("One word for it.", **model1_settings)


@autograms_function()
def decide():
    RESULTS["yes_or_no"] = yes_or_no("Is the user happy?", **model1_settings)
    RESULTS["multiple_choice"] = multiple_choice(
        "What did the user talk about?", choices=["work", "family", "sport"], **model1_settings
    )
    RESULTS["decision_chain"] = decision_chain(
        "Decide.", [{"question": "Tone?", "choices": ["warm", "neutral"]}], **model1_settings
    )


@autograms_function()
def generate():
    RESULTS["generate_list"] = generate_list("List the topics.", **model1_settings)
    RESULTS["generate_fixed_list"] = generate_fixed_list("Three ideas.", 3, **model1_settings)
    RESULTS["generate_fixed_dict"] = generate_fixed_dict(
        "Describe the day.", ["morning", "evening"], **model1_settings
    )
    RESULTS["generate_list_of_dicts"] = generate_list_of_dicts(
        "List people mentioned.", ["name", "role"], **model1_settings
    )
    RESULTS["generate_list_of_choices"] = generate_list_of_choices(
        "Which moods?", ["happy", "sad", "calm"], **model1_settings
    )
    RESULTS["generate_object"] = generate_object("Make a plan.", Plan, **model1_settings)
    RESULTS["thought_chain"] = thought_chain("Reflect.", ["Why?", "So what?"], **model1_settings)
    RESULTS["thought_decision_chain"] = thought_decision_chain(
        "Mixed.", ["Why?", {"question": "Go on?", "choices": ["yes", "no"]}], **model1_settings
    )


@autograms_function()
def call_raw():
    RESULTS["call_llm"] = call_llm("Say hello.", **model1_settings)
    RESULTS["call_chat_completion"] = call_chat_completion(
        [{"role": "user", "content": "Say hi."}], **model1_settings
    )
    RESULTS["call_completion"] = call_completion("Once upon a time", **model1_settings)
    inputs, outputs, system_prompt = get_turn_history("Answer the user.")
    RESULTS["call_model"] = call_model(inputs, outputs, system_prompt, **model1_settings)
    RESULTS["call_classifier"] = call_classifier(
        inputs, outputs, ["Yes", "No"], system_prompt, **model1_settings
    )
    RESULTS["call_object_model"] = call_object_model(
        inputs, outputs, system_prompt, obj_structure=Plan, **model1_settings
    )


@autograms_function()
def respond():
    if yes_or_no("Should we go on?", **model1_settings):
        reply_suffix("What else happened?", **model1_settings)
    node_reply_instruction("Ask about tomorrow.", ADDRESS="ask", **model1_settings)
    reply_instruction("Reply to the user.", **model1_settings)
    TRANSITION("Continue?", {"yes": "returnto top", "no": "returnto top"}, **model1_settings)
