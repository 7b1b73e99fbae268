"""Labelled scenarios, part 2: chat histories, Responses API chains, streaming, short values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.dataflow.prose import prose, words
from tests.dataflow.scenario import Call, Scenario, system, user

SCENARIOS: list[Callable[[], Scenario]] = []


def scenario(build: Callable[[], Scenario]) -> Callable[[], Scenario]:
    """Register a scenario builder."""
    SCENARIOS.append(build)
    return build


def _chat_loop(
    s: Scenario, prefix: str, turns: int, *, api: str = "chat", window: int | None = None
) -> list[Call]:
    history: list[dict[str, Any]] = [system("You are a patient tutor.")]
    calls: list[Call] = []
    for turn in range(turns):
        history.append(user(prose(f"{prefix}-user-{turn}", 2)))
        sent = history if window is None else history[:1] + history[1:][-window:]
        feeds = (calls[-1],) if calls else ()
        call = s.llm(
            f"{prefix}{turn}",
            list(sent),
            prose(f"{prefix}-reply-{turn}", 4),
            api=api,
            feeds_from=feeds,
        )
        history.append(call.message)
        calls.append(call)
    return calls


@scenario
def chat_history_five_turns() -> Scenario:
    s = Scenario("chat_history_five_turns", "chat_history", "history re-sent: chain, no clique")
    _chat_loop(s, "t", 5)
    return s


@scenario
def chat_history_twenty_turns() -> Scenario:
    s = Scenario("chat_history_twenty_turns", "chat_history", "long loop stays a chain")
    _chat_loop(s, "long", 20)
    return s


@scenario
def chat_history_anthropic() -> Scenario:
    s = Scenario("chat_history_anthropic", "chat_history", "Anthropic messages with history")
    _chat_loop(s, "an", 4, api="anthropic")
    return s


@scenario
def chat_sliding_window() -> Scenario:
    s = Scenario("chat_sliding_window", "chat_history", "history trimmed to the last messages")
    _chat_loop(s, "win", 7, window=4)
    return s


@scenario
def chat_user_quotes_old_answer() -> Scenario:
    s = Scenario("chat_user_quotes_old_answer", "chat_history", "a fresh quote of turn 1")
    calls = _chat_loop(s, "q", 3)
    first = calls[0].data["reply"]["text"]
    history = [
        *calls[-1].data["messages"],
        calls[-1].message,
        user(f'Earlier you said: "{words(first, 3, 14)}". Explain that.'),
    ]
    s.llm("q3", history, prose("q-reply-3", 3), feeds_from=(calls[-1], calls[0]))
    return s


@scenario
def chat_two_conversations() -> Scenario:
    s = Scenario("chat_two_conversations", "chat_history", "two interleaved conversations")
    histories: list[list[dict[str, Any]]] = [[system("Tutor A.")], [system("Tutor B.")]]
    last: list[Call | None] = [None, None]
    for turn in range(3):
        for conv in (0, 1):
            histories[conv].append(user(prose(f"conv{conv}-u{turn}", 2)))
            prior = last[conv]
            call = s.llm(
                f"conv{conv}_{turn}",
                list(histories[conv]),
                prose(f"conv{conv}-a{turn}", 3),
                feeds_from=(prior,) if prior else (),
            )
            histories[conv].append(call.message)
            last[conv] = call
    return s


@scenario
def chat_fork() -> Scenario:
    s = Scenario("chat_fork", "chat_history", "a conversation forks into two branches")
    calls = _chat_loop(s, "fk", 2)
    base = [*calls[-1].data["messages"], calls[-1].message]
    a = s.llm(
        "branch_a", [*base, user("Make it shorter.")], prose("fk-a", 3), feeds_from=(calls[-1],)
    )
    s.llm("branch_b", [*base, user("Make it funnier.")], prose("fk-b", 3), feeds_from=(calls[-1],))
    s.llm(
        "branch_a2",
        [*base, user("Make it shorter."), a.message, user("Now in French.")],
        prose("fk-a2", 3),
        feeds_from=(a,),
    )
    return s


@scenario
def responses_previous_id_chain() -> Scenario:
    s = Scenario("responses_previous_id_chain", "responses", "stateful previous_response_id")
    prev: Call | None = None
    for turn in range(4):
        prev = s.llm(
            f"r{turn}",
            [user(prose(f"resp-u{turn}", 1))],
            prose(f"resp-a{turn}", 3),
            api="responses",
            previous=prev,
            feeds_from=(prev,) if prev else (),
        )
    return s


@scenario
def responses_items_resent() -> Scenario:
    s = Scenario("responses_items_resent", "responses", "stateless: output items re-sent")
    items: list[dict[str, Any]] = []
    prev: Call | None = None
    for turn in range(4):
        items.append(user(prose(f"items-u{turn}", 1)))
        prev = s.llm(
            f"i{turn}",
            list(items),
            prose(f"items-a{turn}", 3),
            api="responses",
            feeds_from=(prev,) if prev else (),
        )
        items.extend(prev.items)
    return s


@scenario
def responses_previous_plus_quote() -> Scenario:
    s = Scenario("responses_previous_plus_quote", "responses", "chained call also quotes turn 1")
    r0 = s.llm("r0", [user("Describe the polar archive.")], prose("pq-0", 4), api="responses")
    r1 = s.llm(
        "r1",
        [user("And its budget?")],
        prose("pq-1", 3),
        api="responses",
        previous=r0,
        feeds_from=(r0,),
    )
    quote = words(r0.data["reply"]["text"], 2, 15)
    s.llm(
        "r2",
        [user(f"Go back to this: {quote}")],
        prose("pq-2", 3),
        api="responses",
        previous=r1,
        feeds_from=(r1, r0),
    )
    return s


@scenario
def streamed_output_chain() -> Scenario:
    s = Scenario("streamed_output_chain", "streaming", "streamed replies feed later calls")
    a = s.llm(
        "outline", [user("Outline a talk on kinetic turbines.")], prose("st-a", 5), stream=True
    )
    b = s.llm(
        "talk",
        [user(f"Expand this outline:\n{a.data['reply']['text']}")],
        prose("st-b", 9),
        stream=True,
        feeds_from=(a,),
    )
    s.llm(
        "title",
        [user(f"Title for this talk: {b.data['reply']['text']}")],
        "Turbines in Motion",
        stream=True,
        feeds_from=(b,),
    )
    return s


@scenario
def streamed_partial_reuse() -> Scenario:
    s = Scenario("streamed_partial_reuse", "streaming", "one paragraph of a streamed reply reused")
    long_text = prose("sp-long", 14)
    a = s.llm("report", [user("Write the monsoon report.")], long_text, stream=True)
    s.llm(
        "tweet",
        [user(f"Turn into a tweet: {words(long_text, 30, 25)}")],
        "Monsoon update!",
        feeds_from=(a,),
    )
    return s


@scenario
def numeric_answer_reused() -> Scenario:
    s = Scenario("numeric_answer_reused", "short_values", "42 reused in 'Add 1 to 42'")
    a = s.llm("mul", [user("What is 6 times 7? Reply with the number only.")], "42")
    b = s.llm("add", [user("Add 1 to 42. Reply with the number only.")], "43", feeds_from=(a,))
    s.llm("prime", [user("Is 43 a prime number?")], "Yes, 43 is prime.", feeds_from=(b,))
    return s


@scenario
def numeric_weak_values() -> Scenario:
    s = Scenario("numeric_weak_values", "short_values", "'1' and 'yes' link nothing")
    s.llm("moons", [user("How many moons does Earth have? Number only.")], "1")
    s.llm("confirm", [user("Is water wet? Answer yes or no.")], "Yes")
    s.llm(
        "steps",
        [user("Step 1: list 1 fact about Mars. Yes, keep it short.")],
        prose("weak-mars", 2),
    )
    return s


@scenario
def number_in_sentence() -> Scenario:
    s = Scenario("number_in_sentence", "short_values", "an amount inside a short answer")
    a = s.llm(
        "total",
        [user("Sum the invoice lines: 1,000.00 + 284.50")],
        "The total is 1,284.50 dollars.",
    )
    s.step(
        "invoice",
        "make_invoice",
        {"amount": "1,284.50", "currency": "USD"},
        "INV-7",
        feeds_from=(a,),
    )
    s.llm("unrelated", [user("What happened in 1969 in space exploration?")], prose("moon", 2))
    return s


@scenario
def short_word_answer() -> Scenario:
    s = Scenario("short_word_answer", "short_values", "a one-word answer reused in a prompt")
    a = s.llm("capital", [user("What is the capital of Portugal? One word.")], "Lisbon")
    s.llm(
        "trip",
        [user("Plan a three-day trip to Lisbon for a family.")],
        prose("trip", 4),
        feeds_from=(a,),
    )
    return s


@scenario
def short_name_from_extraction() -> Scenario:
    s = Scenario("short_name_from_extraction", "extraction", "an extracted name reused")
    doc = prose("memo-h", 3) + " The memo was signed by Ingrid Halvorsen, head of the quarry."
    a = s.llm("signer", [user(f"Who signed this memo? Name only.\n{doc}")], "Ingrid Halvorsen")
    s.llm(
        "letter",
        [user("Write a short letter to Ingrid Halvorsen about safety.")],
        prose("letter-h", 3),
        feeds_from=(a,),
    )
    return s


@scenario
def step_parses_reply() -> Scenario:
    s = Scenario("step_parses_reply", "short_values", "a step argument parsed out of a reply")
    a = s.llm(
        "choose",
        [user("Pick the best harbor for a winter refit and explain briefly.")],
        "Best choice: Tromso harbor, because the dry dock is free in January.",
    )
    s.step("book", "book_dock", {"harbor": "Tromso harbor"}, "booking 5512", feeds_from=(a,))
    return s
