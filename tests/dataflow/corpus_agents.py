"""Labelled scenarios, part 1: planners and workers, tool loops, ReAct, map-reduce, subruns."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.dataflow.prose import prose, words
from tests.dataflow.scenario import Scenario, system, tool_call, tool_result, user

SCENARIOS: list[Callable[[], Scenario]] = []


def scenario(build: Callable[[], Scenario]) -> Callable[[], Scenario]:
    """Register a scenario builder."""
    SCENARIOS.append(build)
    return build


@scenario
def planner_worker_chain() -> Scenario:
    s = Scenario("planner_worker_chain", "planner", "planner -> researcher -> writer")
    plan = prose("plan-a", 4)
    notes = prose("notes-a", 7)
    article = prose("article-a", 8)
    p = s.llm(
        "planner", [system("You plan research."), user("Plan an article on tidal energy.")], plan
    )
    r = s.llm(
        "researcher",
        [system("You research."), user(f"Follow this plan:\n{plan}")],
        notes,
        feeds_from=(p,),
    )
    s.llm(
        "writer",
        [system("You write."), user(f"Write the article from these notes:\n{notes}")],
        article,
        feeds_from=(r,),
    )
    return s


@scenario
def planner_items_to_workers() -> Scenario:
    s = Scenario("planner_items_to_workers", "planner", "each worker gets one line of the plan")
    steps = [prose(f"step-{i}", 2) for i in range(3)]
    plan = "\n".join(f"{i + 1}. {step}" for i, step in enumerate(steps))
    p = s.llm("planner", [user("Break the audit of the harbor ledger into three steps.")], plan)
    outs = []
    for i, step in enumerate(steps):
        outs.append(
            s.llm(
                f"worker{i}",
                [system("Do one step."), user(f"Your step: {step}")],
                prose(f"worker-out-{i}", 5),
                feeds_from=(p,),
            )
        )
    joined = "\n\n".join(o.data["reply"]["text"] for o in outs)
    s.llm(
        "reducer",
        [user(f"Combine the findings:\n{joined}")],
        prose("final-b", 4),
        feeds_from=tuple(outs),
    )
    return s


@scenario
def reducer_reads_plan_and_results() -> Scenario:
    s = Scenario("reducer_reads_plan_and_results", "planner", "reducer re-reads the plan too")
    plan = prose("plan-c", 5)
    p = s.llm("planner", [user("Plan the glacier survey.")], plan)
    w1 = s.llm(
        "worker1",
        [user(f"Here is the plan we follow: {plan}\nDo part one.")],
        prose("w1-c", 5),
        feeds_from=(p,),
    )
    w2 = s.llm(
        "worker2",
        [user(f"Here is the plan we follow: {plan}\nDo part two.")],
        prose("w2-c", 5),
        feeds_from=(p,),
    )
    s.llm(
        "reducer",
        [
            user(
                f"Here is the plan we follow: {plan}\nResults:\n{w1.data['reply']['text']}\n"
                f"{w2.data['reply']['text']}\nWrite the report."
            )
        ],
        prose("r-c", 4),
        feeds_from=(p, w1, w2),
    )
    return s


@scenario
def draft_critique_revise() -> Scenario:
    s = Scenario("draft_critique_revise", "planner", "reviser reads the draft and the critique")
    draft = prose("draft-d", 6)
    critique = prose("critique-d", 3)
    d = s.llm("draft", [user("Draft a memo about the turbine archive.")], draft)
    c = s.llm("critic", [system("Criticize."), user(draft)], critique, feeds_from=(d,))
    s.llm(
        "revise",
        [user(f"Draft:\n{draft}\n\nCritique:\n{critique}\n\nRevise the draft.")],
        prose("revised-d", 6),
        feeds_from=(d, c),
    )
    return s


@scenario
def self_consistency_samples() -> Scenario:
    s = Scenario("self_consistency_samples", "planner", "same prompt sampled three times, voted")
    question = prose("question-e", 2)
    p = s.llm("rewrite", [user(f"Rewrite as a precise question: {question}")], prose("q-e", 2))
    prompt = [system("Answer carefully."), user(p.data["reply"]["text"])]
    answers = [
        s.llm(f"sample{i}", prompt, prose(f"answer-e-{i}", 3), feeds_from=(p,)) for i in range(3)
    ]
    s.step(
        "vote",
        "majority_vote",
        {"candidates": [a.data["reply"]["text"] for a in answers]},
        answers[1].data["reply"]["text"],
        feeds_from=tuple(answers),
    )
    return s


@scenario
def tool_single_round() -> Scenario:
    s = Scenario("tool_single_round", "tool_loop", "one tool call, traced tool, final answer")
    history = [system("You can call tools."), user("What's the weather in Lisbon right now?")]
    tc = tool_call("call_w1", "get_weather", city="Lisbon", unit="celsius")
    c1 = s.llm("c1", history, None, tool_calls=[tc])
    t = s.step(
        "get_weather",
        "get_weather",
        {"city": "Lisbon", "unit": "celsius"},
        "19 degrees, light drizzle from the Atlantic, wind 14 km/h",
        feeds_from=(c1,),
    )
    history += [c1.message, tool_result("call_w1", t.returns)]
    s.llm("c2", history, "It is 19 degrees in Lisbon with light drizzle.", feeds_from=(c1, t))
    return s


@scenario
def tool_two_rounds() -> Scenario:
    s = Scenario("tool_two_rounds", "tool_loop", "two tool rounds: no edges to round one at c3")
    history = [user("Find the population of the largest city in Portugal.")]
    c1 = s.llm("c1", history, None, tool_calls=[tool_call("t1", "largest_city", country="PT")])
    a = s.step("largest_city", "largest_city", {"country": "PT"}, "Lisbon", feeds_from=(c1,))
    history += [c1.message, tool_result("t1", "Lisbon")]
    c2 = s.llm(
        "c2",
        history,
        None,
        tool_calls=[tool_call("t2", "population", city="Lisbon")],
        feeds_from=(c1, a),
    )
    b = s.step(
        "population", "population", {"city": "Lisbon"}, "545,923 (2021 census)", feeds_from=(c2,)
    )
    history += [c2.message, tool_result("t2", b.returns)]
    s.llm("c3", history, "Lisbon has about 545,923 inhabitants.", feeds_from=(c2, b))
    return s


@scenario
def tool_parallel_calls() -> Scenario:
    s = Scenario("tool_parallel_calls", "tool_loop", "two tool calls in one reply")
    history = [user("Compare the opening hours of the Louvre and the Prado.")]
    calls = [tool_call("p1", "hours", museum="Louvre"), tool_call("p2", "hours", museum="Prado")]
    c1 = s.llm("c1", history, None, tool_calls=calls)
    r1 = s.step(
        "hours_louvre",
        "hours",
        {"museum": "Louvre"},
        "Louvre: 9:00-18:00, closed Tue",
        feeds_from=(c1,),
    )
    r2 = s.step(
        "hours_prado", "hours", {"museum": "Prado"}, "Prado: 10:00-20:00, daily", feeds_from=(c1,)
    )
    history += [c1.message, tool_result("p1", r1.returns), tool_result("p2", r2.returns)]
    s.llm("c2", history, "The Prado opens later but closes at 20:00.", feeds_from=(c1, r1, r2))
    return s


@scenario
def tool_anthropic() -> Scenario:
    s = Scenario("tool_anthropic", "tool_loop", "Anthropic tool_use / tool_result")
    history = [system("Use tools."), user("Convert 250 euros to Japanese yen.")]
    c1 = s.llm(
        "c1",
        history,
        "Let me look up the rate.",
        api="anthropic",
        tool_calls=[tool_call("toolu_01", "convert", amount=250, src="EUR", dst="JPY")],
    )
    t = s.step(
        "convert",
        "convert",
        {"amount": 250, "src": "EUR", "dst": "JPY"},
        "40,612 JPY at 162.45",
        feeds_from=(c1,),
    )
    history += [c1.message, tool_result("toolu_01", t.returns)]
    s.llm("c2", history, "250 euros is about 40,612 yen.", api="anthropic", feeds_from=(c1, t))
    return s


@scenario
def tool_responses_api() -> Scenario:
    s = Scenario("tool_responses_api", "responses", "function_call_output with previous id")
    c1 = s.llm(
        "c1",
        [user("How many open issues does the compass repo have?")],
        None,
        api="responses",
        tool_calls=[tool_call("fc1", "open_issues", repo="compass")],
    )
    t = s.step(
        "open_issues",
        "open_issues",
        {"repo": "compass"},
        "37 open issues, 5 labelled bug",
        feeds_from=(c1,),
    )
    s.llm(
        "c2",
        [tool_result("fc1", t.returns)],
        "There are 37 open issues, 5 of them bugs.",
        api="responses",
        previous=c1,
        feeds_from=(c1, t),
    )
    return s


@scenario
def tool_untraced() -> Scenario:
    s = Scenario("tool_untraced", "tool_loop", "the tool is not traced: only the id edge")
    history = [user("What time is it in Tokyo?")]
    c1 = s.llm("c1", history, None, tool_calls=[tool_call("tt1", "clock", tz="Asia/Tokyo")])
    history += [c1.message, tool_result("tt1", "23:41 JST")]
    s.llm("c2", history, "It is 23:41 in Tokyo.", feeds_from=(c1,))
    return s


@scenario
def react_scratchpad() -> Scenario:
    s = Scenario("react_scratchpad", "react", "ReAct with one growing prompt text")
    question = "Question: How tall is the Eiffel Tower compared with the Shard?\n"
    prompt = "Answer using search. Format: Thought, Action, Observation.\n" + question
    t1 = "Thought: I need the Eiffel Tower height first.\nAction: search[Eiffel Tower height]"
    l1 = s.llm("l1", [user(prompt)], t1)
    o1 = s.step(
        "search1",
        "search",
        {"query": "Eiffel Tower height"},
        "The Eiffel Tower is 330 metres tall including antennas.",
        feeds_from=(l1,),
    )
    prompt += f"{t1}\nObservation: {o1.returns}\n"
    t2 = "Thought: Now I need the height of the Shard in London.\nAction: search[Shard height]"
    l2 = s.llm("l2", [user(prompt)], t2, feeds_from=(l1, o1))
    o2 = s.step(
        "search2",
        "search",
        {"query": "Shard height"},
        "The Shard in London stands 309.6 metres high.",
        feeds_from=(l2,),
    )
    prompt += f"{t2}\nObservation: {o2.returns}\n"
    s.llm(
        "l3",
        [user(prompt)],
        "Final Answer: the Eiffel Tower is about 20 metres taller.",
        feeds_from=(l2, o2),
    )
    return s


@scenario
def react_chat_messages() -> Scenario:
    s = Scenario("react_chat_messages", "react", "ReAct as chat turns with observations as users")
    history = [
        system("Think, act with lookup[...], then answer."),
        user("Who designed the Sydney Opera House and when did it open?"),
    ]
    t1 = "Thought: find the architect.\nAction: lookup[Sydney Opera House architect]"
    l1 = s.llm("l1", history, t1)
    o1 = s.step(
        "lookup1",
        "lookup",
        {"query": "Sydney Opera House architect"},
        "Designed by the Danish architect Jorn Utzon.",
        feeds_from=(l1,),
    )
    history += [l1.message, user(f"Observation: {o1.returns}")]
    t2 = "Thought: now the opening year.\nAction: lookup[Sydney Opera House opening year]"
    l2 = s.llm("l2", history, t2, feeds_from=(l1, o1))
    o2 = s.step(
        "lookup2",
        "lookup",
        {"query": "Sydney Opera House opening year"},
        "It was formally opened by Queen Elizabeth II in October 1973.",
        feeds_from=(l2,),
    )
    history += [l2.message, user(f"Observation: {o2.returns}")]
    s.llm("l3", history, "Jorn Utzon designed it; it opened in 1973.", feeds_from=(l2, o2))
    return s


@scenario
def map_reduce_subruns() -> Scenario:
    s = Scenario("map_reduce_subruns", "subruns", "topics fanned out to subruns, reduced in parent")
    topics = ["granite quarry safety", "tidal estuary mapping", "satellite hangar logistics"]
    p = s.llm("planner", [user("List three topics for the field report.")], "\n".join(topics))
    outs = []
    for i, topic in enumerate(topics):
        run = s.subrun(f"sub{i}")
        outs.append(
            s.llm(
                f"worker{i}",
                [system("Write one section."), user(f"Section topic: {topic}")],
                prose(f"mr-{i}", 5),
                run=run,
                feeds_from=(p,),
            )
        )
    joined = "\n".join(o.data["reply"]["text"] for o in outs)
    s.llm(
        "reducer",
        [user(f"Merge these sections:\n{joined}")],
        prose("mr-final", 3),
        feeds_from=tuple(outs),
    )
    return s


@scenario
def eval_samples_isolated() -> Scenario:
    s = Scenario("eval_samples_isolated", "subruns", "sibling samples never link to each other")
    questions = [
        "What is the capital of France?",
        "Which city hosts the Louvre museum?",
        "Name the French city on the Seine with the Eiffel Tower.",
    ]
    for i, question in enumerate(questions):
        run = s.subrun(f"sample{i}")
        a = s.llm(f"answer{i}", [system("Answer in one word."), user(question)], "Paris", run=run)
        s.step(
            f"grade{i}",
            "exact_match",
            {"prediction": "Paris", "expected": "Paris"},
            True,
            run=run,
            feeds_from=(a,),
        )
    return s


@scenario
def subrun_reads_parent_output() -> Scenario:
    s = Scenario("subrun_reads_parent_output", "subruns", "a parent's output used in a subrun")
    summary = prose("parent-summary", 4)
    p = s.llm("summarize", [user(f"Summarize the brief: {prose('brief-x', 6)}")], summary)
    run = s.subrun("child")
    s.llm(
        "child_call",
        [user(f"Context: {summary}\nDraft the first section.")],
        prose("child-out", 4),
        run=run,
        feeds_from=(p,),
    )
    return s


@scenario
def nested_subruns() -> Scenario:
    s = Scenario("nested_subruns", "subruns", "grandchild subrun output reduced at the top")
    s.subrun("mid")
    s.subrun("leaf", parent="mid")
    seed = s.llm("seed", [user("Pick a theme for the stories.")], prose("theme-n", 1))
    story = s.llm(
        "story",
        [user(f"Write a story about: {seed.data['reply']['text']}")],
        prose("story-n", 6),
        run="leaf",
        feeds_from=(seed,),
    )
    s.llm(
        "judge",
        [user(f"Rate this story:\n{story.data['reply']['text']}")],
        "8/10 vivid",
        feeds_from=(story,),
    )
    return s


@scenario
def rag_pipeline_steps() -> Scenario:
    s = Scenario("rag_pipeline_steps", "steps", "retrieve -> answer -> format")
    docs = [prose(f"doc-{i}", 3) for i in range(3)]
    r = s.step("retrieve", "retrieve", {"query": "reservoir maintenance schedule"}, docs)
    context = "\n---\n".join(docs[:2])
    a = s.llm(
        "answer",
        [
            system("Answer from context."),
            user(f"Context:\n{context}\n\nWhen is the reservoir serviced?"),
        ],
        prose("rag-answer", 3),
        feeds_from=(r,),
    )
    s.step(
        "format",
        "format_answer",
        {"answer": a.data["reply"]["text"], "style": "markdown"},
        "**" + a.data["reply"]["text"] + "**",
        feeds_from=(a,),
    )
    return s


@scenario
def structured_output_to_steps() -> Scenario:
    s = Scenario("structured_output_to_steps", "extraction", "JSON fields consumed separately")
    doc = (
        "Invoice 88-231 from Fjord Analytics AS, Bergen, issued to Alice Moreau "
        "(alice.moreau@example.org) for 12 hours of consulting, due 2025-03-14."
    )
    extracted = {
        "customer": "Alice Moreau",
        "email": "alice.moreau@example.org",
        "vendor": "Fjord Analytics AS",
        "hours": 12,
    }
    e = s.llm("extract", [system("Extract fields as JSON."), user(doc)], json.dumps(extracted))
    s.step(
        "send_mail",
        "send_mail",
        {"to": "alice.moreau@example.org", "name": "Alice Moreau"},
        "queued",
        feeds_from=(e,),
    )
    s.llm(
        "welcome",
        [user("Write a two-line thank-you note to Alice Moreau.")],
        prose("thanks-f", 2),
        feeds_from=(e,),
    )
    return s


@scenario
def output_split_over_fields() -> Scenario:
    s = Scenario("output_split_over_fields", "multi_field", "one output spread over two fields")
    text = prose("split-g", 10)
    first, second = words(text, 0, 40), words(text, 40, 200)
    w = s.llm("writer", [user("Write the essay about the coastal foundry.")], text)
    s.llm(
        "editor",
        [system("Edit."), user(f"Part A:\n{first}"), user(f"Part B:\n{second}")],
        prose("edited-g", 4),
        feeds_from=(w,),
    )
    s.step(
        "publish",
        "publish",
        {"title": "The coastal foundry", "intro": words(text, 0, 12), "rest": words(text, 12, 200)},
        "ok",
        feeds_from=(w,),
    )
    return s
