"""Pure message assembly: a conversation view plus an instruction become OpenAI ``messages``.

No I/O and no model calls. The format follows AutoGRAMS, without its two bugs: every turn
keeps its own content (an agent reply after thoughts stays the agent reply) and user messages
appear where they were said (before any thought that followed them).

A conversation of turns ``user "hi"``, ``agent "Hello!"``, ``user "I'm Ana"``, a thought
(``system_instruction "note the name"`` → ``system_answer "Ana"``) and the instruction
"greet her" becomes::

    system:    <system prompt>
    user:      User: hi\\n\\nINSTRUCTION: Reply to the user.
    assistant: Hello!
    user:      User: I'm Ana\\n\\nINSTRUCTION: note the name
    assistant: Ana
    user:      INSTRUCTION: greet her

Contents are plain strings; only the last user message becomes a list of parts, and only
when multimodal parts are given (llama.cpp-family servers refuse lists for system and
assistant messages).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import (
    AGENT_NAME_TOKEN,
    AUTOGRAMS_INSTRUCTION_TEMPLATE,
    INSTRUCTION_TOKEN,
    LAST_RESPONSE_TOKEN,
    AutogramConfig,
)
from .models.tokens import (
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    TokenCounter,
    message_text,
)

#: roles a conversation turn may have
TURN_ROLES = ("user", "agent", "system_instruction", "system_answer")
#: labels of multiple-choice options
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Conversation:
    """What the model may see of a conversation: a system prompt and turns in order."""

    #: system prompt of the innermost conversation scope
    system_prompt: str = ""
    #: turns, each {"role": one of TURN_ROLES, "content": str}
    turns: Sequence[Mapping[str, str]] = field(default_factory=tuple)


@dataclass(frozen=True)
class PromptStyle:
    """Labels and options of the prompt format."""

    user_label: str = "User"
    instruction_label: str = "INSTRUCTION"
    question_label: str = "QUESTION"
    #: instruction shown for past agent replies, whose real instruction is not kept
    reply_placeholder: str = "Reply to the user."
    #: optional template of the final message (see AutogramConfig.instruction_template)
    instruction_template: str | None = None
    agent_name: str = "Agent"
    system_prompt_in_turns: bool = False

    @classmethod
    def from_config(cls, config: AutogramConfig) -> PromptStyle:
        """The style an AutogramConfig asks for."""
        template = config.instruction_template
        return cls(
            user_label=config.user_name,
            instruction_label=config.instruction_name.upper(),
            instruction_template=None if template == AUTOGRAMS_INSTRUCTION_TEMPLATE else template,
            agent_name=config.agent_name,
            system_prompt_in_turns=config.system_prompt_in_turns,
        )


def assemble(
    conversation: Conversation,
    final: str,
    config: AutogramConfig,
    counter: TokenCounter,
    *,
    role: str = "chatbot",
    max_turns: int | None = None,
    question: bool = False,
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None,
    history: bool = False,
) -> list[dict[str, Any]]:
    """The messages a helper sends: built in the config's style, a chat prompt cut to
    ``chatbot_max_input_len`` and a decision's sent whole (as AutoGRAMS sends it: its
    ``max_turns`` bounds it), with the system prompt left out for decisions if
    ``exclude_classifier_system_prompt``, and folded into the first user message if
    ``system_prompt_in_turns``. As a `history` (what ``get_turn_history()`` returns) they are
    neither cut nor folded: the whole conversation and the system prompt apart, as in
    AutoGRAMS, whose requests alone fold it."""
    classifier = role == "classifier"
    messages = build_messages(
        conversation,
        final,
        PromptStyle.from_config(config),
        max_turns=max_turns,
        question=question,
        multi_modal_inputs=multi_modal_inputs,
        include_system=not (classifier and config.exclude_classifier_system_prompt),
    )
    if history:
        return messages
    if not classifier:
        messages = fit_to_budget(messages, config.chatbot_max_input_len, counter)
    return merge_system_prompt(messages) if config.system_prompt_in_turns else messages


def window(turns: Sequence[Mapping[str, str]], max_turns: int | None) -> list[Mapping[str, str]]:
    """The turns a prompt with ``max_turns`` user messages of history shows.

    The window starts at the agent reply just before the ``max_turns``-th last user message,
    so the model sees what the user answered to. Where that would show user messages one after
    another (turns without a reply, after an EXIT), it holds the last ``max_turns`` agent
    replies instead, each after the messages it answered (AutoGRAMS counted each unanswered
    message, so its window cut a reply off from them). None or a negative number (AutoGRAMS'
    documented ``-1``) keeps everything; 0 keeps nothing; with no more than ``max_turns`` user
    messages everything is kept.
    """
    if max_turns is None or max_turns < 0:
        return list(turns)
    if max_turns == 0:
        return []
    # Scan from the newest turn: a session's history is long, a prompt's window short.
    users, cut, agent = 0, 0, None
    for index in range(len(turns) - 1, -1, -1):
        role = turns[index].get("role")
        if role == "user":
            users += 1
            if users == max_turns:
                cut = index
        elif role == "agent" and users >= max_turns and agent is None:
            agent = index
        if users > max_turns and agent is not None:
            break
    if users <= max_turns:
        return list(turns)
    shown = list(turns[cut if agent is None else agent :])
    if _unanswered_in_a_row(shown):
        return _last_replies(turns, max_turns)
    return shown


def _unanswered_in_a_row(turns: Sequence[Mapping[str, str]]) -> bool:
    """Whether `turns` hold two user messages in a row (a turn without a reply, an EXIT)."""
    roles = [turn.get("role") for turn in turns]
    return any(a == b == "user" for a, b in zip(roles, roles[1:], strict=False))


def _last_replies(turns: Sequence[Mapping[str, str]], count: int) -> list[Mapping[str, str]]:
    """The turns after the reply before the last `count` agent replies: each of those
    replies after the messages it answered, then the messages since."""
    replies = 0
    for index in range(len(turns) - 1, -1, -1):
        if turns[index].get("role") == "agent":
            replies += 1
            if replies > count:
                return list(turns[index + 1 :])
    return list(turns)


def build_messages(
    conversation: Conversation,
    final: str,
    style: PromptStyle | None = None,
    *,
    max_turns: int | None = None,
    question: bool = False,
    include_system: bool = True,
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """OpenAI messages for asking ``final`` (an instruction, or a decision question when
    ``question``) after the conversation. The system prompt stays a separate message; see
    `merge_system_prompt` for ``system_prompt_in_turns``."""
    style = style or PromptStyle()
    history, pending_users, pending_instruction = _history(
        window(conversation.turns, max_turns), style
    )
    messages: list[dict[str, Any]] = []
    if include_system and conversation.system_prompt:
        messages.append({"role": "system", "content": conversation.system_prompt})
    messages += history
    lines = (
        [] if pending_instruction is None else [f"{style.instruction_label}: {pending_instruction}"]
    )
    final_text = _final_text(pending_users, final, style, question, lines)
    messages.append(_user_message(final_text, multi_modal_inputs))
    return messages


def _history(
    turns: Sequence[Mapping[str, str]], style: PromptStyle
) -> tuple[list[dict[str, Any]], list[str], str | None]:
    messages: list[dict[str, Any]] = []
    users: list[str] = []
    instruction: str | None = None
    for index, turn in enumerate(turns):
        role, content = turn.get("role"), turn.get("content", "")
        if role == "user":
            users.append(content)
        elif role == "system_instruction":
            instruction = content if instruction is None else f"{instruction}\n{content}"
        elif role in ("system_answer", "agent"):
            thought = role == "system_answer" and instruction
            asked = instruction if thought else style.reply_placeholder
            messages.append(
                {"role": "user", "content": _compose(users, style.instruction_label, asked, style)}
            )
            messages.append({"role": "assistant", "content": content})
            users, instruction = [], None
        else:
            raise ValueError(
                f"turn {index} has unknown role {role!r}: expected one of {list(TURN_ROLES)}"
            )
    return messages, users, instruction


def _compose(
    users: Sequence[str], label: str, text: str, style: PromptStyle, extra: Sequence[str] = ()
) -> str:
    lines = [f"{style.user_label}: {user}" for user in users]
    return "\n\n".join([*lines, *extra, f"{label}: {text}"])


def _final_text(
    users: Sequence[str], final: str, style: PromptStyle, question: bool, extra: Sequence[str]
) -> str:
    if question or style.instruction_template is None:
        label = style.question_label if question else style.instruction_label
        return _compose(users, label, final, style, extra)
    last_response = "\n\n".join([*(f"{style.user_label}: {u}" for u in users), *extra])
    text = (
        style.instruction_template.replace(LAST_RESPONSE_TOKEN, last_response)
        .replace(INSTRUCTION_TOKEN, final)
        .replace(AGENT_NAME_TOKEN, style.agent_name)
    )
    return text.strip()


def _user_message(text: str, parts: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    if not parts:
        return {"role": "user", "content": text}
    return {"role": "user", "content": [{"type": "text", "text": text}, *map(dict, parts)]}


def messages_from_turns(
    input_turns: Sequence[str],
    output_turns: Sequence[str],
    system_prompt: str | None = None,
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """OpenAI messages from AutoGRAMS' turn lists (what `get_turn_history` returns): the
    system prompt, then each input as a user message followed by its output as an assistant
    message; the input without an output comes last."""
    if len(input_turns) != len(output_turns) + 1:
        raise ValueError(
            f"input_turns must hold one message more than output_turns (the last, unanswered "
            f"one): got {len(input_turns)} inputs and {len(output_turns)} outputs"
        )
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for user, assistant in zip(input_turns, output_turns, strict=False):
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": assistant})
    messages.append(_user_message(input_turns[-1], multi_modal_inputs))
    return messages


def merge_system_prompt(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages with the system message folded into the first user message (for models
    without a system role)."""
    result = [dict(m) for m in messages]
    if not result or result[0].get("role") != "system":
        return result
    system = result.pop(0)["content"]
    first = result[0]
    content = first["content"]
    if isinstance(content, str):
        first["content"] = f"{system}\n\n{content}"
    else:
        first["content"] = [{"type": "text", "text": system}, *content]
    return result


def fit_to_budget(
    messages: Sequence[Mapping[str, Any]], budget: int, counter: TokenCounter
) -> list[dict[str, Any]]:
    """Messages cut to at most ``budget`` prompt tokens (as ``counter`` counts them).

    A system prompt longer than half the budget is cut to that half (keeping its start) and
    ends with "..." after the cut, as AutoGRAMS cuts it, so the model sees it stop; then the
    oldest user/assistant pairs are dropped. The last message (the user's words and the
    instruction) is sent whole even when it alone is over the budget, as AutoGRAMS sends it:
    a cut one would lose the message or the start of the instruction.
    """
    result = [dict(m) for m in messages]
    if isinstance(counter, TokenCounter) and _bytes_fit(result, budget - REPLY_PRIMING):
        return result
    head: list[dict[str, Any]] = []
    if result and result[0].get("role") == "system":
        head = [result.pop(0)]
    # A session's history is long and a prompt's budget short: messages are counted from the
    # newest back, and only as far as the budget reaches (the older ones are dropped unread).
    newest = _NewestCosts(result, counter)
    room = budget - REPLY_PRIMING - sum(_cost(m, counter) for m in head)
    if newest.fitting(room) == len(result) and room >= 0:
        return head + result
    if head:
        system_text = message_text(head[0])
        if counter.count(system_text) > budget // 2:
            head[0]["content"] = counter.head(system_text, budget // 2) + "..."
        room = budget - REPLY_PRIMING - _cost(head[0], counter)
    kept = newest.fitting(room)
    if kept < len(result):  # drop the oldest pairs: keep as many as fit, in whole pairs
        kept -= (len(result) - kept) % 2
        kept = max(kept, min(len(result), 2 - len(result) % 2))
        del result[: len(result) - kept]
    return head + result


def _bytes_fit(messages: Sequence[Mapping[str, Any]], room: int) -> bool:
    """Whether `messages` fit in `room` tokens by their bytes alone (`TokenCounter.at_most`),
    so that no tokenizer is loaded or run: a decision's prompt is a few hundred bytes, and
    loading o200k costs a process ~0.3 s. Read from the newest back, as far as the room goes."""
    for message in reversed(messages):
        room -= TokenCounter.at_most(message_text(message)) + MESSAGE_OVERHEAD
        if room < 0:
            return False
    return True


class _NewestCosts:
    """The token costs of a list of messages, counted from the newest back on demand."""

    def __init__(self, messages: Sequence[Mapping[str, Any]], counter: TokenCounter) -> None:
        self._messages, self._counter = messages, counter
        #: costs of the newest messages, newest first
        self.costs: list[int] = []
        self._spent = 0

    def fitting(self, room: int) -> int:
        """How many of the newest messages fit in `room` tokens together."""
        while self._spent <= room and len(self.costs) < len(self._messages):
            self._count_next()
        spent, fitting = self._spent, len(self.costs)
        while spent > room and fitting:
            fitting -= 1
            spent -= self.costs[fitting]
        return fitting

    def _count_next(self) -> None:
        cost = _cost(self._messages[-1 - len(self.costs)], self._counter)
        self.costs.append(cost)
        self._spent += cost


def _cost(message: Mapping[str, Any], counter: TokenCounter) -> int:
    return counter.count(message_text(message)) + MESSAGE_OVERHEAD


def yes_no_question(question: str, prefix: str | None = None) -> tuple[str, tuple[str, str]]:
    """Decision text for a yes/no question and its labels ("Yes", "No"), worded as
    AutoGRAMS words it."""
    text = f"{question}\n\n (Yes or No)?"
    return (f"{prefix.rstrip()}\n{text}" if prefix else text), ("Yes", "No")


def choice_question(
    question: str, choices: Sequence[str], prefix: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """Decision text listing lettered options (numbered beyond 26) and their labels, worded
    as AutoGRAMS words it (a line per option)."""
    labels = choice_labels(len(choices))
    options = "".join(f"{label}. {choice}\n" for label, choice in zip(labels, choices, strict=True))
    text = f"{question}\n\n{options}"
    return (f"{prefix.rstrip()}\n{text}" if prefix else text), labels


def choice_labels(count: int) -> tuple[str, ...]:
    """Labels of ``count`` options: A, B, ... or 1, 2, ... when there are more than 26."""
    if count <= len(LETTERS):
        return tuple(LETTERS[:count])
    return tuple(str(i) for i in range(1, count + 1))
