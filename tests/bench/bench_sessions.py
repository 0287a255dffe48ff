"""Session reader figures: first full parse of a 50 MB transcript, then an incremental poll.

Run on demand:  .venv/bin/python tests/bench/bench_sessions.py [--mb 50] [--runs 3]

Each figure is printed beside the obvious alternative measured in the same
run, and their ratio:
- first full parse (MB/s)            goal >= 40 MB/s
- poll after 10 appended lines       vs  a full re-parse of the grown file
                                         (what a reader without offsets pays);
                                         goal >= 100x cheaper
- poll with nothing new              (for scale)

The transcript is generated in Claude Code's format with a realistic mix: a
prompt per turn, responses written as 2-3 lines sharing message.id and
requestId, tool results of 0.2-30 KB of code-like text (repeated in
toolUseResult, as Claude Code does), progress, system and snapshot lines.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hostd.claude.files import sanitize_path
from hostd.claude.sessions import SessionReader
from tests.claude_transcripts import Transcript

PROJECT = "/home/a/my_proj.v2"
WORDS = [
    "def", "return", "self", "if", "else", "for", "in", "import",
    "from", "class", "None", "True", "parse", "value", "result",
]  # fmt: skip


def code(rng: random.Random, size: int) -> str:
    lines, n = [], 0
    while n < size:
        indent = " " * (4 * rng.randint(0, 3))
        line = indent + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))
        if rng.random() < 0.2:
            line += f'  # "{rng.choice(WORDS)}"\t'
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines)


def generate(t: Transcript, target: int, rng: random.Random) -> None:
    tools = ["Read", "Bash", "Edit", "Grep", "Glob", "Write"]
    while not t.path.exists() or t.path.stat().st_size < target:
        t.bookkeeping()
        t.prompt("Please fix the failing date parsing test and " + code(rng, 200))
        for step in range(rng.randint(3, 8)):
            last = step == 7 or rng.random() < 0.15
            blocks: list[str | tuple[str, str]] = ["thinking", "text"]
            if not last:
                blocks.append(("tool_use", rng.choice(tools)))
            t.response(
                blocks,
                input_tokens=rng.randint(1, 50),
                output_tokens=rng.randint(20, 2000),
                cache_creation=rng.randint(0, 5000),
                cache_read=rng.randint(10_000, 150_000),
                stop_reason="end_turn" if last else "tool_use",
                text=code(rng, rng.randint(200, 3000)),
            )
            if last:
                break
            t.tool_result(t.tool_ids[0], code(rng, int(rng.lognormvariate(8, 1.2)) % 30_000 + 200))
            t.bookkeeping()


def full_parse(config: Path, since: float) -> tuple[float, dict[str, object]]:
    reader = SessionReader(PROJECT, config, since)
    t0 = time.perf_counter()
    reader.poll()
    metrics = reader.metrics()
    return time.perf_counter() - t0, metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=50.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    try:
        config = tmp / ".claude"
        since = time.time() - 86400
        folder = config / "projects" / sanitize_path(PROJECT)
        t = Transcript(
            folder / "0b9c4a4e-5a0c-4e43-9d0a-5b2f8f3f0c11.jsonl", PROJECT, since + 1, step=0.01
        )
        t0 = time.perf_counter()
        generate(t, int(args.mb * 1_000_000), random.Random(42))
        size = t.path.stat().st_size
        lines = sum(1 for _ in t.path.open("rb"))
        print(
            f"transcript: {size / 1e6:.1f} MB, {lines} lines "
            f"(generated in {time.perf_counter() - t0:.1f} s)"
        )

        fulls = [full_parse(config, since)[0] for _ in range(args.runs)]
        full = statistics.median(fulls)
        print(
            f"first full parse            {full * 1000:9.1f} ms   {size / 1e6 / full:7.1f} MB/s"
            f"   (goal >= 40 MB/s; runs: {', '.join(f'{x:.2f}' for x in fulls)} s)"
        )

        reader = SessionReader(PROJECT, config, since)
        reader.poll()
        idle = []
        for _ in range(20):
            t1 = time.perf_counter()
            reader.poll()
            idle.append(time.perf_counter() - t1)

        incs, reparses = [], []
        for _ in range(args.runs):
            before = reader.metrics()
            t.prompt("and now the other test")  # 1 line
            t.response(
                ["thinking", "text", ("tool_use", "Bash")],
                input_tokens=3,
                output_tokens=77,
                cache_read=120_000,
                stop_reason="tool_use",
            )  # 3
            t.tool_result(t.tool_ids[0], code(random.Random(1), 4000))  # 1
            t.response(["text", "text"], input_tokens=2, output_tokens=33)  # 2
            t.bookkeeping()  # 4 -> 10 lines, about 20 KB
            t1 = time.perf_counter()
            reader.poll()
            after = reader.metrics()
            incs.append(time.perf_counter() - t1)
            assert after["output_tokens"] == before["output_tokens"] + 77 + 33, "wrong totals"  # type: ignore[operator]
            reparses.append(full_parse(config, since)[0])
        inc, reparse = statistics.median(incs), statistics.median(reparses)
        print(f"poll + metrics, 10 new lines {inc * 1000:9.3f} ms")
        print(
            f"full re-parse               {reparse * 1000:9.1f} ms   -> incremental poll is "
            f"{reparse / inc:,.0f}x cheaper (goal >= 100x)"
        )
        print(f"poll, nothing new           {statistics.median(idle) * 1000:9.3f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
