"""The per-run-tree index of what has been produced: ids, k-gram postings, distinctive values.

One ``RunTreeIndex`` serves a top-level run and all its subruns; every producer remembers its
run so a consumer only sees producers of its own run, its ancestors and its descendants (never a
sibling subrun: two evaluation samples that both answer "Paris" are not linked).

Only the detector's single worker touches an index, so it needs no locks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanContext

from spanflow.dataflow.records import CallOutputs, TextField
from spanflow.dataflow.text import (
    KGRAM_TOKENS,
    SHORT_FIELD_TOKENS,
    Fingerprint,
    FingerprintCache,
    is_weak_token,
    json_leaves,
)

BOILERPLATE_PRODUCERS = 3
"""A k-gram emitted by this many producers is boilerplate and identifies none of them."""

SHORT_VALUE_TOKENS = 3
"""A whole output of at most this many tokens is matched as a value (``42``, ``Alice Smith``)."""

MAX_KEY_VALUES_PER_FIELD = 12
MAX_NOVEL_TRACKED_TOKENS = 64  # outputs up to this long remember which of their words were new
MAX_CONSUMERS_PER_FIELD = 8
MAX_FIELDS_PER_RUN = 4096

# Measured with tracemalloc on CPython 3.11 (bench/bench_dataflow.py prints the real figure).
POSTING_BYTES = 110  # dict slot, int key, packed int (a tuple of them once shared)
SOURCE_KGRAM_BYTES = 60  # set slot and int
TOKEN_BYTES = 24  # a retained text: tuple slot, 8-byte k-gram, share of the token set
MAX_SOURCES_PER_KGRAM = 2  # the latest inputs holding a k-gram (a growing prompt: the longest)

Postings = dict[int, "int | tuple[int, ...]"]
"""k-gram -> one packed posting (``text number << 20 | position``) or a tuple of them.

Tuples rather than lists: a tuple of ints leaves the garbage collector's tracked objects, so a
large index does not slow every full collection of the process.
"""


@dataclass(eq=False)
class Producer:
    """A finished call whose outputs may feed later calls."""

    call_seq: int  # sequence number of the call's start
    end_seq: int  # sequence number of its end (registration)
    span_context: SpanContext
    run_key: str


@dataclass(eq=False)
class OutputText:
    """One indexed output field (or a JSON leaf inside one)."""

    producer: Producer
    path: str
    fingerprint: Fingerprint
    echoed: bytes  # per k-gram: 1 when the k-gram was already in the run's outside input text
    novel: frozenset[str] = frozenset()  # short outputs: words the run had not seen before


@dataclass(frozen=True)
class ShortValue:
    """A distinctive value of a short output: the whole output or one rare token of it."""

    output: OutputText
    tokens: tuple[str, ...]
    whole: bool  # the value is the whole output field


@dataclass(frozen=True)
class ContentMatch:
    """A region of a consumer text that came from one output text, or from an earlier input.

    ``start``/``length`` are token positions in the consumer text. A match on an earlier input
    (``source``) is resolved when used: a whole earlier input re-sent inside a longer one is
    history (a growing scratchpad or transcript); a part of one passes on what that part held.
    """

    start: int
    length: int
    output: OutputText | None = None
    source: InputText | None = None
    source_start: int = 0  # where the region starts in the source text
    exact: bool = False  # the consumer text equals the output text
    value_tokens: tuple[str, ...] = ()  # short-value matches: the value, for the echo check
    credit: int = 0  # tokens that count as evidence: the producer's own, non-boilerplate text


@dataclass(eq=False)
class InputText:
    """A distinct input text of one run: when it was first seen, who read it, what it holds."""

    first_seen_seq: int
    fingerprint: Fingerprint
    run_key: str
    matches: tuple[ContentMatch, ...] = ()
    consumers: list[int] = field(default_factory=list)  # call_seq of calls that read it


@dataclass(frozen=True)
class RecentCall:
    """A recent consumer of a run: its input texts, lineage and every input entry it read."""

    texts: tuple[str, ...]
    call_seq: int
    lineage: set[int]
    entries: list[InputText]


RECENT_CALLS_PER_RUN = 4


class RunTreeIndex:
    """Everything produced in one run tree, indexed for lookup by id and by content."""

    def __init__(self, *, cache: FingerprintCache, max_bytes: int) -> None:
        self.cache = cache
        self.max_bytes = max_bytes
        # Approximate bytes held: the memory bound counts these (see the *_BYTES estimates).
        self.approx_bytes = 0
        self.full = False
        self.seq = 0
        self.run_parents: dict[str, str | None] = {}
        self.by_response_id: dict[str, Producer] = {}
        self.by_item_id: dict[str, Producer] = {}
        self.by_tool_call_id: dict[str, Producer] = {}
        self.tool_call_consumers: dict[str, list[int]] = {}
        self.item_consumers: dict[str, list[int]] = {}
        self.outputs: list[OutputText] = []
        self.postings: Postings = {}  # k-grams of outputs
        # k-grams emitted by BOILERPLATE_PRODUCERS producers: taken out of the postings, never
        # posted, extended or matched again.
        self.boilerplate: set[int] = set()
        self.exact: dict[int, OutputText] = {}  # whole-text hash -> latest output with it
        self.short_values: dict[str, list[ShortValue]] = {}  # first token -> values
        self.source_kgrams: set[int] = set()  # k-grams of input text no producer accounts for
        self.sources: list[InputText] = []
        self.source_postings: Postings = {}  # k-grams of inputs that carry produced text
        self.inputs: dict[str, OrderedDict[str, InputText]] = {}  # run key -> text -> entry
        self.seen_tokens: dict[str, set[str]] = {}  # run key -> every token its texts held
        self.recent_calls: dict[str, list[RecentCall]] = {}

    def next_seq(self) -> int:
        """The next event number of this tree (call starts and ends share one sequence)."""
        self.seq += 1
        return self.seq

    # --- visibility ---------------------------------------------------------------------------
    def ancestors(self, run_key: str) -> list[str]:
        """``run_key`` followed by its known ancestors, nearest first."""
        chain = [run_key]
        parent = self.run_parents.get(run_key)
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.run_parents.get(parent)
        return chain

    def visible(self, producer_run: str, consumer_chain: list[str]) -> bool:
        """Whether a producer in ``producer_run`` may feed a consumer with ``consumer_chain``."""
        if producer_run in consumer_chain:
            return True
        return consumer_chain[0] in self.ancestors(producer_run)

    # --- inputs --------------------------------------------------------------------------------
    def input_texts(self, run_key: str) -> OrderedDict[str, InputText]:
        """The distinct input texts seen in one run, least recently used first."""
        found = self.inputs.get(run_key)
        if found is None:
            found = self.inputs[run_key] = OrderedDict()
        return found

    def remember_input(self, run_key: str, text: str, entry: InputText) -> None:
        """Keep ``entry`` for ``text``, dropping the least recently used beyond the bound."""
        texts = self.input_texts(run_key)
        texts[text] = entry
        self.approx_bytes += TOKEN_BYTES * len(entry.fingerprint.tokens)
        if len(texts) > MAX_FIELDS_PER_RUN:
            _, dropped = texts.popitem(last=False)
            self.approx_bytes -= TOKEN_BYTES * len(dropped.fingerprint.tokens)

    def remember_call(self, run_key: str, call: RecentCall) -> None:
        """Keep ``call`` among the run's few most recent consumers."""
        calls = self.recent_calls.setdefault(run_key, [])
        calls.append(call)
        if len(calls) > RECENT_CALLS_PER_RUN:
            del calls[0]

    def count_tokens(self, run_key: str, fingerprint: Fingerprint) -> None:
        """Remember ``fingerprint``'s tokens as seen in the run (distinctive values are new)."""
        self.seen_tokens.setdefault(run_key, set()).update(fingerprint.tokens)

    def index_input(self, entry: InputText) -> None:
        """Index an input text's k-grams so later inputs that re-send parts of it are seen."""
        number = len(self.sources)
        self.sources.append(entry)
        for kgram, held, packed in self._add_postings(
            self.source_postings, entry.fingerprint, number
        ):
            if isinstance(held, int):
                self.source_postings[kgram] = (held, packed)
            else:
                self.source_postings[kgram] = (*held[1 - MAX_SOURCES_PER_KGRAM :], packed)

    def add_source_kgrams(self, kgrams: Collection[int]) -> None:
        """Remember input k-grams that no producer accounts for (text from outside the calls)."""
        if kgrams and self._reserve(SOURCE_KGRAM_BYTES * len(kgrams)):
            self.source_kgrams.update(kgrams)

    @staticmethod
    def note_consumer(consumers: list[int], call_seq: int) -> None:
        """Record that call ``call_seq`` read something, keeping the most recent readers."""
        consumers.append(call_seq)
        if len(consumers) > MAX_CONSUMERS_PER_FIELD:
            del consumers[0]

    # --- outputs -------------------------------------------------------------------------------
    # --- crossing into another process ---------------------------------------------------------
    def portable(self) -> dict[str, Any]:
        """What this index knows, free of ``hash()`` values, for a process with another seed.

        k-gram postings are keyed by Python's string hash, which differs between processes
        (spawned children get a new seed), so a child rebuilds them from the output tokens.
        """
        return {
            "seq": self.seq,
            "run_parents": dict(self.run_parents),
            "by_response_id": dict(self.by_response_id),
            "by_item_id": dict(self.by_item_id),
            "by_tool_call_id": dict(self.by_tool_call_id),
            "outputs": [
                (output.producer, output.path, output.fingerprint.tokens) for output in self.outputs
            ],
        }

    @classmethod
    def from_portable(
        cls, data: dict[str, Any], *, cache: FingerprintCache, max_bytes: int
    ) -> RunTreeIndex:
        """Rebuild an index from ``portable()`` in this process: same producers, same ids."""
        tree = cls(cache=cache, max_bytes=max_bytes)
        tree.run_parents.update(data["run_parents"])
        by_producer: dict[int, tuple[Producer, list[TextField]]] = {}
        for producer, path, tokens in data["outputs"]:
            entry = by_producer.setdefault(id(producer), (producer, []))
            entry[1].append(TextField(path, " ".join(tokens)))
        for producer, fields in by_producer.values():
            tree.register(producer, CallOutputs(fields=tuple(fields)))
        tree.by_response_id.update(data["by_response_id"])
        tree.by_item_id.update(data["by_item_id"])
        tree.by_tool_call_id.update(data["by_tool_call_id"])
        tree.seq = max(tree.seq, int(data["seq"]))
        return tree

    def register(self, producer: Producer, outputs: CallOutputs) -> None:
        """Index a finished call's outputs: its ids, and the content of every output field."""
        if outputs.response_id:
            self.by_response_id[outputs.response_id] = producer
        for item_id in outputs.item_ids:
            self.by_item_id[item_id] = producer
        for call_id in outputs.tool_call_ids:
            self.by_tool_call_id[call_id] = producer
        texts: list[OutputText] = []
        for text_field in outputs.fields:
            texts.extend(self._output_texts(producer, text_field.path, text_field.text))
        seen = self.seen_tokens.setdefault(producer.run_key, set())
        # Rare tokens are judged against what the run held before this producer, so all of its
        # fields are assessed before any of them is counted.
        for output in texts:
            if len(output.fingerprint.tokens) <= MAX_NOVEL_TRACKED_TOKENS:
                output.novel = output.fingerprint.token_set.difference(seen)
        keyed = [(output, self._key_tokens(output, seen)) for output in texts]
        for output, keys in keyed:
            self._index_output(output, keys)
        for output in texts:
            seen.update(output.fingerprint.tokens)

    def _output_texts(self, producer: Producer, path: str, text: str) -> list[OutputText]:
        found: list[OutputText] = []
        for leaf_path, leaf in [("", text), *json_leaves(text)]:
            fingerprint = self.cache.get(leaf)
            if not fingerprint.tokens:
                continue
            kgrams = fingerprint.kgrams
            if self.source_kgrams.isdisjoint(kgrams):  # the usual case: all the output's own
                echoed = bytes(len(kgrams))
            else:
                echoed = bytes(map(self.source_kgrams.__contains__, kgrams))
            found.append(OutputText(producer, path + leaf_path, fingerprint, echoed))
        return found

    @staticmethod
    def _key_tokens(output: OutputText, seen: set[str]) -> list[str]:
        tokens = output.fingerprint.tokens
        if len(tokens) > SHORT_FIELD_TOKENS:
            return []
        keys = [t for t in dict.fromkeys(tokens) if not is_weak_token(t) and t not in seen]
        return keys[:MAX_KEY_VALUES_PER_FIELD]

    def _index_output(self, output: OutputText, key_tokens: list[str]) -> None:
        number = len(self.outputs)
        self.outputs.append(output)
        fingerprint = output.fingerprint
        self.approx_bytes += TOKEN_BYTES * len(fingerprint.tokens)
        self.exact[fingerprint.whole] = output
        tokens = fingerprint.tokens
        if len(tokens) <= SHORT_VALUE_TOKENS and not all(is_weak_token(t) for t in tokens):
            self._add_short(ShortValue(output, tokens, whole=True))
        for token in key_tokens:
            if (token,) != tokens:
                self._add_short(ShortValue(output, (token,), whole=False))
        postings, boilerplate = self.postings, self.boilerplate
        collisions = self._add_postings(postings, fingerprint, number, excluded=boilerplate)
        for kgram, held, packed in collisions:
            held_all = (held,) if isinstance(held, int) else held
            producers = {self.outputs[p >> 20].producer for p in held_all}
            producers.add(output.producer)
            if len(producers) >= BOILERPLATE_PRODUCERS:
                del postings[kgram]
                boilerplate.add(kgram)
            else:
                postings[kgram] = (*held_all, packed)

    def _add_postings(
        self,
        postings: Postings,
        fingerprint: Fingerprint,
        number: int,
        *,
        excluded: set[int] | frozenset[int] = frozenset(),
    ) -> list[tuple[int, int | tuple[int, ...], int]]:
        """Post text ``number``'s k-grams (first occurrence each) but ``excluded``; return the
        collisions.

        Each collision is ``(k-gram, what was posted before, the new posting)``; the caller
        decides what the k-gram maps to. All but dropping the excluded k-grams the text holds
        runs in C: one dict built from the k-grams, set operations, one ``update``.
        """
        kgrams = fingerprint.kgrams
        if excluded and excluded.issuperset(kgrams):
            # An output repeated word for word (a canned reply): nothing left to post. The
            # reservation of nothing still marks an index that is over its bound as full.
            self._reserve(0)
            return []
        base = number << 20
        # Built from the end so that a repeated k-gram keeps its first position.
        positions = range(base + len(kgrams) - 1, base - 1, -1)
        first = dict(zip(reversed(kgrams), positions, strict=True))
        if excluded:
            for kgram in first.keys() & excluded:
                del first[kgram]
        shared = first.keys() & postings.keys()  # walks the smaller side
        # Three iterators over one unchanged set walk it in the same order.
        held = map(postings.__getitem__, shared)
        collisions = list(zip(shared, held, map(first.__getitem__, shared), strict=True))
        if not self._reserve(POSTING_BYTES * (len(first) - len(shared))):
            return []
        postings.update(first)
        return collisions

    def _add_short(self, value: ShortValue) -> None:
        self.short_values.setdefault(value.tokens[0], []).append(value)

    def _reserve(self, size: int) -> bool:
        if self.approx_bytes + size > self.max_bytes:
            self.full = True
            return False
        self.approx_bytes += size
        return True


__all__ = [
    "BOILERPLATE_PRODUCERS",
    "KGRAM_TOKENS",
    "ContentMatch",
    "InputText",
    "OutputText",
    "Producer",
    "RunTreeIndex",
    "ShortValue",
]
