#!/usr/bin/python3
"""Throughput of the provider stream parsers (a benchmark, not a test).

For each wire format, records a 10,000-delta answer as it arrives from the fake provider over
HTTP (the chunks exactly as ``requests`` hands them over), then feeds that recording through
the format's parser several times and prints deltas per second and CPU time per delta.

    /usr/bin/python3 benchmarks/bench_provider_parsers.py [--deltas N] [--rounds N]

Needs only ``requests``: the provider layer and the fake server do not import Odoo.
"""

import argparse
import sys
import time
import types
from pathlib import Path

import requests

ADDON = Path(__file__).resolve().parents[1]
# The addon's own __init__ imports Odoo; load its Odoo-free packages under its name instead.
for name, path in (("llm_thread", ADDON), ("llm_thread.tests", ADDON / "tests")):
    package = types.ModuleType(name)
    package.__path__ = [str(path)]
    sys.modules[name] = package

from llm_thread.providers import anthropic, ollama, openai  # noqa: E402
from llm_thread.providers.base import (Finish, ReasoningDelta, TextDelta,  # noqa: E402
                                       ToolCallEvent, Usage)
from llm_thread.tests.fake_provider import (CHAT_ROUTES, FakeProvider,  # noqa: E402
                                            StreamedToolCall)

PARSERS = {"openai": openai.parse_stream, "anthropic": anthropic.parse_stream,
           "ollama": ollama.parse_stream}
# Typical token-sized pieces of an answer.
WORDS = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
         " Odoo", " streams", " each", " token", " to", " the", " browser", " as", " it",
         " comes", ",", " é", "☕"]


def script(deltas: int) -> list:
    """``deltas`` deltas: a tenth reasoning, then text, then one tool call."""
    reasoning = deltas // 10
    return ([ReasoningDelta(WORDS[i % len(WORDS)]) for i in range(reasoning)]
            + [TextDelta(WORDS[i % len(WORDS)]) for i in range(deltas - reasoning)]
            + [StreamedToolCall("call_1", "search", '{"query": "fox", "limit": 5}', 4),
               Usage(1200, deltas), Finish("tool_calls")])


def record(fake: FakeProvider, fmt: str, deltas: int) -> list[bytes]:
    """The body of one streamed answer, in the chunks it arrived in."""
    fake.script(fmt, script(deltas))
    _method, path = CHAT_ROUTES[fmt]
    with requests.post(fake.root_url + path, json={"model": "m", "stream": True}, stream=True,
                       headers={"anthropic-version": anthropic.API_VERSION},
                       timeout=30) as response:
        response.raise_for_status()
        return list(response.iter_content(chunk_size=None))


def measure(fmt: str, chunks: list[bytes], rounds: int) -> tuple[int, float, float]:
    """(deltas per pass, best wall seconds, best CPU seconds) over ``rounds`` passes."""
    parse = PARSERS[fmt]
    best_wall = best_cpu = float("inf")
    count = 0
    for _round in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        events = list(parse(chunks, "bench"))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        count = sum(isinstance(event, (TextDelta, ReasoningDelta)) for event in events)
        assert isinstance(events[-1], Finish) and any(
            isinstance(event, ToolCallEvent) for event in events), f"{fmt}: incomplete parse"
    return count, best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deltas", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="passes; the best one counts")
    args = parser.parse_args()
    fake = FakeProvider.start()
    try:
        recordings = {fmt: record(fake, fmt, args.deltas) for fmt in PARSERS}
    finally:
        fake.stop()
    print(f"{'format':<10} {'bytes':>9} {'chunks':>7} {'deltas':>7} {'deltas/s':>11} "
          f"{'CPU/delta':>10}")
    for fmt, chunks in recordings.items():
        count, wall, cpu = measure(fmt, chunks, args.rounds)
        print(f"{fmt:<10} {sum(map(len, chunks)):>9} {len(chunks):>7} {count:>7} "
              f"{count / wall:>11,.0f} {cpu / count * 1e6:>8.2f}µs")


if __name__ == "__main__":
    main()
