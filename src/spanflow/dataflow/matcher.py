"""Matching one consumer's inputs against its run tree's index, and deciding its edges.

Order of evidence: ids first (``previous_response_id``, tool-call ids, re-sent response
items), then content. Content is matched per distinct input text, once, when the run first sees
that text: a text cannot carry the output of a call that ended after the text existed, so the
result is final and a re-sent message costs one lookup. Matches are tiled greedily (longest
first, as in greedy string tiling): each consumer token belongs to at most one producer, so a
text that a later call copied from an earlier one is credited to the copy it was taken from.

A re-sent input is *history*, not a fresh consumption, when a call of the same conversation
lineage already read it. A call is in the lineage when its output (or one of its tool calls or
response items) is re-sent in this call's input.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from operator import attrgetter

from spanflow.attributes import LinkHowValue
from spanflow.dataflow.index import (
    ContentMatch,
    InputText,
    OutputText,
    Postings,
    Producer,
    RecentCall,
    RunTreeIndex,
)
from spanflow.dataflow.records import CallInputs, TextField
from spanflow.dataflow.text import (
    KGRAM_TOKENS,
    Fingerprint,
    count_content_tokens,
)

MIN_PARTIAL_TOKENS = 5
"""Content words (not stopwords) a partial match needs, unless it covers most of the output."""
MIN_RUN_TOKENS = 4
"""Content words the longest single shared run needs: scattered stock phrases are no evidence."""
MIN_PARTIAL_COVERAGE = 0.6
VERBATIM_COVERAGE = 0.9

_TEXT_OF = attrgetter("text")

HOW_RANK = {
    LinkHowValue.EXPLICIT: 5,
    LinkHowValue.RESPONSE_ID: 4,
    LinkHowValue.TOOL_CALL: 3,
    LinkHowValue.VERBATIM: 2,
    LinkHowValue.PARTIAL: 1,
}


@dataclass(frozen=True)
class Edge:
    """A decided dataflow edge into the consumer."""

    producer: Producer
    how: str
    score: float
    input_fields: tuple[str, ...]
    output_field: str


@dataclass
class _OutputTally:
    output: OutputText
    producer_tokens: int = 0
    exact: bool = False
    value_whole: bool = False
    value_key: bool = False
    whole_input: bool = False  # some consumer text came wholly from this output
    regions: dict[object, int] = field(default_factory=dict)  # output region -> credit
    best_run: int = 0  # credit of the strongest single region
    input_paths: dict[str, None] = field(default_factory=dict)


@dataclass
class _ProducerTally:
    producer: Producer
    id_how: str | None = None
    id_fields: dict[str, None] = field(default_factory=dict)
    id_output_field: str = ""
    outputs: dict[int, _OutputTally] = field(default_factory=dict)


def scan_text(
    index: RunTreeIndex, fingerprint: Fingerprint, chain: list[str]
) -> tuple[tuple[ContentMatch, ...], Collection[int]]:
    """Match one new input text; return its matches and the k-grams no producer accounts for."""
    tokens: tuple[str, ...] = fingerprint.tokens
    exact = index.exact.get(fingerprint.whole)
    if exact is not None and index.visible(exact.producer.run_key, chain):
        size = len(tokens)
        credit = fingerprint.content_size
        return (ContentMatch(0, size, output=exact, exact=True, credit=credit),), []
    candidates: list[_Candidate] = []
    kgram_set = set(fingerprint.kgrams)
    for number, diagonal, first, last in _diagonal_runs(index.postings, fingerprint, kgram_set):
        output = index.outputs[number]
        if not index.visible(output.producer.run_key, chain):
            continue
        # Text the producer only echoed from the run's inputs is not its own.
        span = last - first + 1
        original = span - sum(output.echoed[first - diagonal : last - diagonal + 1])
        if original:
            # Evidence is the content words of the shared run, in the share of its k-grams the
            # producer did not merely echo: "it is important to note that" proves nothing.
            length = last - first + KGRAM_TOKENS
            content = count_content_tokens(tokens[first : first + length])
            credit = content * original // span
            candidates.append(
                _Candidate(length, 1, output.producer.end_seq, first, output,
                           source_start=first - diagonal, credit=credit)
            )  # fmt: skip
    source_runs = _diagonal_runs(index.source_postings, fingerprint, kgram_set)
    for number, diagonal, first, last in source_runs:
        source = index.sources[number]
        if index.visible(source.run_key, chain):
            length = last - first + KGRAM_TOKENS
            candidates.append(
                _Candidate(length, 0, source.first_seen_seq, first, None, source, first - diagonal)
            )
    kgrams = fingerprint.kgrams
    # A dict view "&" a small set walks the small set (CPython picks the smaller side).
    valued = index.short_values.keys() & fingerprint.token_set if index.short_values else ()
    for position, token in enumerate(tokens) if valued else ():
        if token not in valued:
            continue
        for value in index.short_values[token]:
            size = len(value.tokens)
            if tokens[position : position + size] != value.tokens:
                continue
            around = range(max(0, position - KGRAM_TOKENS + 1), min(position + size, len(kgrams)))
            if any(kgrams[k] in index.source_kgrams for k in around):
                continue  # the value sits in recycled outside text (a template), not fresh text
            if index.visible(value.output.producer.run_key, chain):
                marker = value.tokens if value.whole else ("", *value.tokens)
                candidates.append(
                    _Candidate(size, 1, value.output.producer.end_seq, position, value.output,
                               value_tokens=marker, credit=count_content_tokens(value.tokens))
                )  # fmt: skip
    if not candidates and 0 < len(tokens) < KGRAM_TOKENS:
        found = _find_in_recent_outputs(index, tokens, chain)
        if found is not None:
            size = len(tokens)
            credit = fingerprint.content_size
            match = ContentMatch(0, size, output=found, value_tokens=tokens, credit=credit)
            return (match,), []
    # Longest first; on equal length a producer's output beats an earlier input, then recency.
    # Then the smaller output: a JSON leaf is a more precise origin than the whole document.
    candidates.sort(key=lambda c: (-c.length, -c.is_output, -c.recency, _size(c), c.start))
    claimed = bytearray(len(tokens))
    matches: list[ContentMatch] = []
    for c in candidates:
        free = claimed[c.start : c.start + c.length].count(0)
        if (c.value_tokens and free < c.length) or free < min(c.length, KGRAM_TOKENS):
            continue
        claimed[c.start : c.start + c.length] = b"\x01" * c.length
        credit = c.credit * free // c.length
        matches.append(
            ContentMatch(c.start, c.length, c.output, c.source, c.source_start,
                         value_tokens=c.value_tokens, credit=credit)
        )  # fmt: skip
    if not matches:
        return (), kgram_set
    unclaimed = [
        kgram
        for position, kgram in enumerate(kgrams)
        if not any(claimed[position : position + KGRAM_TOKENS])
    ]
    return tuple(matches), unclaimed


def _size(candidate: _Candidate) -> int:
    return len(candidate.output.fingerprint.tokens) if candidate.output else 0


@dataclass(frozen=True)
class _Candidate:
    length: int
    is_output: int
    recency: int
    start: int
    output: OutputText | None = None
    source: InputText | None = None
    source_start: int = 0
    value_tokens: tuple[str, ...] = ()
    credit: int = 0


def _diagonal_runs(
    postings: Postings, fingerprint: Fingerprint, kgram_set: set[int]
) -> list[tuple[int, int, int, int]]:
    """Runs of consecutive shared k-grams: ``(text number, diagonal, first, last position)``."""
    kgrams = fingerprint.kgrams
    shared = postings.keys() & kgram_set if postings else None
    if not shared:
        return []
    open_runs: dict[tuple[int, int], list[int]] = {}
    runs: list[tuple[int, int, list[int]]] = []
    for position, kgram in enumerate(kgrams):
        if kgram not in shared:
            continue
        found = postings[kgram]
        for packed in (found,) if isinstance(found, int) else found:
            key = (packed >> 20, position - (packed & 0xFFFFF))
            run = open_runs.get(key)
            if run is not None and run[1] == position - 1:
                run[1] = position
            else:
                run = open_runs[key] = [position, position]
                runs.append((key[0], key[1], run))
    return [(number, diagonal, run[0], run[1]) for number, diagonal, run in runs]


RECENT_OUTPUTS_FOR_SHORT_INPUTS = 32


def _find_in_recent_outputs(
    index: RunTreeIndex, tokens: tuple[str, ...], chain: list[str]
) -> OutputText | None:
    """The latest output containing a short input (a step argument parsed out of a reply).

    A single word counts only when that output brought it into the run (a constant argument
    such as ``mode="fast"`` is not taken from whichever reply last said "fast").
    """
    content = count_content_tokens(tokens)
    if content == 0 or (len(tokens) == 1 and len(tokens[0]) < 3):
        return None
    wanted = set(tokens)
    for output in reversed(index.outputs[-RECENT_OUTPUTS_FOR_SHORT_INPUTS:]):
        if not wanted <= output.fingerprint.token_set:
            continue
        if content < 2 and not wanted & output.novel:
            continue
        if not index.visible(output.producer.run_key, chain):
            continue
        held = output.fingerprint.tokens
        size = len(tokens)
        if any(held[i : i + size] == tokens for i in range(len(held) - size + 1)):
            return output
    return None


def match_call(index: RunTreeIndex, run_key: str, inputs: CallInputs) -> tuple[int, list[Edge]]:
    """Assign the consumer its call number and decide its incoming edges."""
    call_seq = index.next_seq()
    chain = index.ancestors(run_key)
    fields = inputs.fields
    texts = tuple(map(_TEXT_OF, fields))
    previous_call = _previous_call_in_prefix(index, run_key, texts)
    skip = len(previous_call.texts) if previous_call else 0
    entries = _input_entries(index, run_key, chain, fields[skip:], call_seq)

    def visible(producer: Producer | None) -> Producer | None:
        return producer if producer and index.visible(producer.run_key, chain) else None

    previous = visible(index.by_response_id.get(inputs.previous_response_id or ""))
    by_tool_call = [(i, visible(index.by_tool_call_id.get(i))) for i in inputs.tool_call_ids]
    by_item = [(i, visible(index.by_item_id.get(i))) for i in inputs.response_item_ids]
    lineage = {p.call_seq for _, p in by_tool_call + by_item if p is not None}
    if previous is not None:
        lineage.add(previous.call_seq)
    for _, entry in entries:
        if entry.matches:
            lineage.update(m.output.producer.call_seq for m in entry.matches if m.output)
    older: list[InputText] = []
    if previous_call is not None and previous_call.call_seq in lineage:
        # This call re-sends the previous call's whole input and reads its output: the shared
        # prefix is that conversation's history, already read by it. Skipping it keeps a
        # call's cost proportional to what is new in it.
        lineage.update(previous_call.lineage)
        older = previous_call.entries
    elif skip:
        head = _input_entries(index, run_key, chain, fields[:skip], call_seq)
        for _, entry in head:
            if entry.matches:
                lineage.update(m.output.producer.call_seq for m in entry.matches if m.output)
        entries = head + entries
    all_entries = older + [entry for _, entry in entries]
    index.remember_call(run_key, RecentCall(texts, call_seq, lineage, all_entries))

    tallies: dict[int, _ProducerTally] = {}

    def tally(producer: Producer) -> _ProducerTally:
        found = tallies.get(id(producer))
        if found is None:
            found = tallies[id(producer)] = _ProducerTally(producer)
        return found

    if previous is not None:
        _add_id(tally(previous), LinkHowValue.RESPONSE_ID, "previous_response_id", "id")
    for how, input_field, found, consumers_by_id in (
        (LinkHowValue.TOOL_CALL, "tool_call_ids", by_tool_call, index.tool_call_consumers),
        (LinkHowValue.RESPONSE_ID, "response_item_ids", by_item, index.item_consumers),
    ):
        for item_id, producer in found:
            consumers = consumers_by_id.setdefault(item_id, [])
            if producer is not None and not any(c in lineage for c in consumers):
                _add_id(tally(producer), how, input_field, item_id)
            index.note_consumer(consumers, call_seq)
    for text_field, entry in entries:
        if not entry.matches:  # text from outside the calls (most re-sent messages)
            index.note_consumer(entry.consumers, call_seq)
            continue
        # Calls of this conversation's lineage that already read this text: what they read
        # then is history now, not a fresh consumption.
        readers = [c for c in entry.consumers if c in lineage]
        size = len(entry.fingerprint.tokens)
        for match, tokens in _resolve(entry, 0, size, depth=0):
            if match.output is None:
                continue
            if any(c > match.output.producer.end_seq for c in readers):
                continue
            if match.value_tokens and _echoes_own_input(match.output, match, all_entries):
                continue
            whole_input = match.length == size and match.start == 0 and match in entry.matches
            _add_content(tally(match.output.producer), match, tokens, text_field.path,
                         whole_input=whole_input)  # fmt: skip
        index.note_consumer(entry.consumers, call_seq)
    edges = [edge for t in tallies.values() if (edge := _decide(t)) is not None]
    edges.sort(key=lambda e: (-HOW_RANK[e.how], -e.score, -e.producer.end_seq))
    return call_seq, edges


def _with_newer_exact_output(index: RunTreeIndex, entry: InputText, chain: list[str]) -> InputText:
    """A text seen before may now equal a newer output (short values recur): prefer that one."""
    exact = index.exact.get(entry.fingerprint.whole)
    if (
        exact is None
        or exact.producer.end_seq < entry.first_seen_seq
        or not index.visible(exact.producer.run_key, chain)
    ):
        return entry
    size = len(entry.fingerprint.tokens)
    credit = entry.fingerprint.content_size
    match = ContentMatch(0, size, output=exact, exact=True, credit=credit)
    return InputText(entry.first_seen_seq, entry.fingerprint, entry.run_key, (match,),
                     entry.consumers)  # fmt: skip


MAX_SOURCE_DEPTH = 8


def _resolve(
    entry: InputText, low: int, high: int, *, depth: int
) -> Iterator[tuple[ContentMatch, int]]:
    """The producer matches inside ``[low, high)`` of ``entry``, through re-sent inputs."""
    for match in entry.matches:
        overlap = min(high, match.start + match.length) - max(low, match.start)
        if overlap <= 0:
            continue
        source = match.source
        if source is None:
            yield match, match.credit * overlap // match.length
            continue
        if match.length >= len(source.fingerprint.tokens) or depth >= MAX_SOURCE_DEPTH:
            continue  # a whole earlier input re-sent: history, already consumed back then
        offset = match.source_start + max(low, match.start) - match.start
        yield from _resolve(source, offset, offset + overlap, depth=depth + 1)


def _echoes_own_input(output: OutputText, match: ContentMatch, entries: list[InputText]) -> bool:
    """Whether a short value was already in one of the consumer's inputs older than its producer."""
    value = {t for t in match.value_tokens if t}
    end_seq = output.producer.end_seq
    return any(
        entry.first_seen_seq < end_seq and value <= entry.fingerprint.token_set for entry in entries
    )


def _input_entries(
    index: RunTreeIndex,
    run_key: str,
    chain: list[str],
    fields: tuple[TextField, ...],
    call_seq: int,
) -> list[tuple[TextField, InputText]]:
    """The run's entry for each non-empty input field, in order (see ``_new_input_entry``)."""
    texts = index.input_texts(run_key)
    exact = index.exact
    found: list[tuple[TextField, InputText]] = []
    for text_field in fields:
        text = text_field.text
        if not text:
            continue
        entry = texts.get(text)
        if entry is None:
            entry = _new_input_entry(index, run_key, chain, text, call_seq)
        else:
            texts.move_to_end(text)
            if entry.fingerprint.whole in exact:
                entry = _with_newer_exact_output(index, entry, chain)
        found.append((text_field, entry))
    return found


def _new_input_entry(
    index: RunTreeIndex, run_key: str, chain: list[str], text: str, call_seq: int
) -> InputText:
    """The run's entry for an input text seen for the first time, matched against the index."""
    fingerprint = index.cache.get(text)
    matches, unclaimed = scan_text(index, fingerprint, chain)
    entry = InputText(call_seq, fingerprint, run_key, matches)
    index.remember_input(run_key, text, entry)
    index.count_tokens(run_key, fingerprint)
    index.add_source_kgrams(unclaimed)
    if matches and not matches[0].exact:
        # Only inputs that carry produced text are worth finding again inside later inputs
        # (a growing scratchpad); purely external text is covered by the source k-grams.
        index.index_input(entry)
    return entry


def _previous_call_in_prefix(
    index: RunTreeIndex, run_key: str, texts: tuple[str, ...]
) -> RecentCall | None:
    """The latest recent call whose whole input is a prefix of ``texts`` (chat history)."""
    for recent in reversed(index.recent_calls.get(run_key, ())):
        size = len(recent.texts)
        if 0 < size <= len(texts) and texts[:size] == recent.texts:
            return recent
    return None


def _add_id(tally: _ProducerTally, how: str, input_field: str, output_field: str) -> None:
    if tally.id_how is None or HOW_RANK[how] > HOW_RANK[tally.id_how]:
        tally.id_how = how
        tally.id_output_field = output_field
    tally.id_fields[input_field] = None


def _add_content(
    tally: _ProducerTally,
    match: ContentMatch,
    tokens: int,
    input_path: str,
    *,
    whole_input: bool,
) -> None:
    assert match.output is not None
    found = tally.outputs.get(id(match.output))
    if found is None:
        found = tally.outputs[id(match.output)] = _OutputTally(match.output)
    # The same part of an output quoted twice is one piece of evidence, not two.
    region: object = match.value_tokens or (match.source_start, match.length)
    found.regions[region] = max(tokens, found.regions.get(region, 0))
    found.producer_tokens = sum(found.regions.values())
    found.best_run = max(found.best_run, tokens)
    found.exact = found.exact or match.exact
    found.whole_input = found.whole_input or whole_input
    if match.value_tokens:
        if match.value_tokens[0]:
            found.value_whole = True
        else:
            found.value_key = True
    found.input_paths[input_path] = None


def _judge(output: _OutputTally) -> tuple[str, float] | None:
    size = output.output.fingerprint.content_size
    coverage = min(1.0, output.producer_tokens / size) if size else 0.0
    if output.exact:
        return LinkHowValue.VERBATIM, 1.0
    if output.value_whole:
        return LinkHowValue.VERBATIM, 0.9
    if coverage >= MIN_PARTIAL_COVERAGE or (
        output.producer_tokens >= MIN_PARTIAL_TOKENS and output.best_run >= MIN_RUN_TOKENS
    ):
        if coverage >= VERBATIM_COVERAGE:
            return LinkHowValue.VERBATIM, round(0.5 + 0.5 * coverage, 3)
        return LinkHowValue.PARTIAL, round(0.5 + 0.5 * coverage, 3)
    if output.value_key or output.whole_input:
        return LinkHowValue.PARTIAL, max(0.75, round(0.5 + 0.5 * coverage, 3))
    return None


def _decide(tally: _ProducerTally) -> Edge | None:
    best: tuple[int, float, _OutputTally] | None = None
    how_by_output: dict[int, tuple[str, float]] = {}
    input_paths: dict[str, None] = dict(tally.id_fields)
    for key, output in tally.outputs.items():
        judged = _judge(output)
        if judged is None:
            continue
        how_by_output[key] = judged
        input_paths.update(output.input_paths)
        rank = (HOW_RANK[judged[0]], judged[1], output)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if tally.id_how is not None:
        return Edge(tally.producer, tally.id_how, 1.0, tuple(input_paths), tally.id_output_field)
    if best is None:
        return None
    how, score = how_by_output[id(best[2].output)]
    return Edge(tally.producer, how, score, tuple(input_paths), best[2].output.path)
