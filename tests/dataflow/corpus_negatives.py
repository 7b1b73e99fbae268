"""Labelled scenarios, part 3: boilerplate, echoed inputs, relays and unrelated calls."""

from __future__ import annotations

from collections.abc import Callable

from tests.dataflow.prose import prose, words
from tests.dataflow.scenario import Scenario, system, user

SCENARIOS: list[Callable[[], Scenario]] = []

DISCLAIMER = (
    "Note: this summary was generated automatically and may contain errors, "
    "so please verify every important figure before sharing it with customers."
)


def scenario(build: Callable[[], Scenario]) -> Callable[[], Scenario]:
    """Register a scenario builder."""
    SCENARIOS.append(build)
    return build


@scenario
def boilerplate_disclaimer() -> Scenario:
    s = Scenario("boilerplate_disclaimer", "boilerplate", "a disclaimer every worker appends")
    outs = [
        s.llm(
            f"summary{i}",
            [user(f"Summarize: {prose(f'bp-doc-{i}', 5)}")],
            f"{prose(f'bp-sum-{i}', 3)} {DISCLAIMER}",
        )
        for i in range(4)
    ]
    s.llm("footer", [user(f"Translate this footer to German: {DISCLAIMER}")], "Hinweis: ...")
    s.llm(
        "digest",
        [user("Digest:\n" + "\n".join(words(o.data["reply"]["text"], 0, 25) for o in outs[:2]))],
        prose("bp-digest", 2),
        feeds_from=tuple(outs[:2]),
    )
    return s


@scenario
def boilerplate_greeting() -> Scenario:
    s = Scenario("boilerplate_greeting", "boilerplate", "'Sure! Here is' openers link nothing")
    opener = "Sure! Here is the information you asked for, laid out step by step:"
    outs = [
        s.llm(f"ask{i}", [user(prose(f"greet-q-{i}", 1))], f"{opener} {prose(f'greet-a-{i}', 3)}")
        for i in range(3)
    ]
    s.llm(
        "use_one",
        [user(f"Shorten: {outs[1].data['reply']['text']}")],
        prose("greet-s", 1),
        feeds_from=(outs[1],),
    )
    s.llm(
        "template",
        [user(f"Reply to the customer starting with '{opener}' then thank them.")],
        prose("greet-t", 2),
    )
    return s


@scenario
def echoed_question() -> Scenario:
    s = Scenario("echoed_question", "echo", "a reply restating the question links nothing")
    question = prose("echo-q", 2)
    s.llm("answer", [user(question)], f"You asked: {question} The answer is {prose('echo-a', 2)}")
    s.llm(
        "again", [system("Be brief."), user(f"Rephrase politely: {question}")], prose("echo-r", 2)
    )
    return s


@scenario
def echoed_document_quotes() -> Scenario:
    s = Scenario("echoed_document_quotes", "echo", "quotes of a shared document are not edges")
    doc = prose("shared-doc", 12)
    s.llm(
        "summary",
        [user(f"Quote the two key sentences of:\n{doc}")],
        f"Key sentences: {words(doc, 10, 20)} ... {words(doc, 60, 18)}",
    )
    s.llm("qa", [user(f"Using the document below, who benefits?\n{doc}")], prose("doc-qa", 2))
    return s


@scenario
def relay_chain() -> Scenario:
    s = Scenario("relay_chain", "echo", "B rewrites A lightly; C reads B: no A->C edge")
    a_text = prose("relay-a", 6)
    a = s.llm("A", [user("Write the product blurb.")], a_text)
    b_text = "Revised blurb: " + a_text.replace("improves", "boosts") + " Available now."
    b = s.llm("B", [user(f"Polish this blurb:\n{a_text}")], b_text, feeds_from=(a,))
    s.llm("C", [user(f"Translate to Spanish:\n{b_text}")], prose("relay-c", 5), feeds_from=(b,))
    return s


@scenario
def system_prompt_shared() -> Scenario:
    s = Scenario("system_prompt_shared", "echo", "a long shared system prompt links nothing")
    sys_text = prose("sys-shared", 6)
    for i in range(4):
        s.llm(f"call{i}", [system(sys_text), user(prose(f"sys-u{i}", 2))], prose(f"sys-a{i}", 3))
    return s


@scenario
def unrelated_calls() -> Scenario:
    s = Scenario("unrelated_calls", "negative", "independent calls on different topics")
    for i in range(5):
        s.llm(f"solo{i}", [user(prose(f"solo-q{i}", 2))], prose(f"solo-a{i}", 4))
    return s


@scenario
def same_template_different_data() -> Scenario:
    s = Scenario("same_template_different_data", "negative", "one template, many inputs")
    template = "Classify the sentiment of this review as positive, negative or mixed: "
    reviews = [
        "The velvet cushions arrived torn.",
        "Lovely amber lamp, bright and warm.",
        "Fast delivery but the granite tray cracked.",
    ]
    labels = ["negative", "positive", "mixed"]
    for i, (review, label) in enumerate(zip(reviews, labels, strict=True)):
        s.llm(f"classify{i}", [user(template + review)], label)
    return s


@scenario
def user_input_reused_by_two() -> Scenario:
    s = Scenario("user_input_reused_by_two", "negative", "two calls read the same user text")
    brief = prose("brief-u", 5)
    s.llm("outline", [user(f"Outline: {brief}")], prose("out-u", 4))
    s.llm("risks", [user(f"List risks in: {brief}")], prose("risk-u", 4))
    return s


@scenario
def judge_reads_exchange() -> Scenario:
    s = Scenario("judge_reads_exchange", "planner", "a judge reads a prompt and its answer")
    question = prose("judge-q", 2)
    a = s.llm("answer", [user(question)], prose("judge-a", 4))
    s.llm(
        "judge",
        [user(f"Question: {question}\nAnswer: {a.data['reply']['text']}\nScore 1-10.")],
        "7",
        feeds_from=(a,),
    )
    return s


@scenario
def consumer_reuses_own_history_value() -> Scenario:
    s = Scenario("consumer_reuses_own_history_value", "echo", "a value the chat already had")
    history = [system("Track the order."), user("My order number is 99127, it has not arrived.")]
    a = s.llm("c1", history, "Order 99127 left the warehouse on Monday.")
    history += [a.message, user("Can you check 99127 again tomorrow?")]
    s.llm("c2", history, "I will check it tomorrow.", feeds_from=(a,))
    return s
