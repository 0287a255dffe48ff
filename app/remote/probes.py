"""What a host has: the tools sandboxes need, found by a probe of our own.

hostd's ``hello`` reports each backend's availability and why not; the tools
underneath (tmux, Xvfb, bwrap, QEMU) and their versions are looked up here
with a small fixed sh script, run over a plain exec channel with the login
shell's PATH (the PATH hostd gets) or, locally, with this process's PATH.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from dataclasses import dataclass

from .ssh.host import SshHost

log = logging.getLogger(__name__)

# (label, program, what prints its version). Xvfb has no version flag at all
# (it rejects -version, and -help prints only usage): found or not is all.
TOOLS: tuple[tuple[str, str, str], ...] = (
    ("tmux", "tmux", "-V"),
    ("Xvfb", "Xvfb", ""),
    ("bwrap", "bwrap", "--version"),
    ("QEMU", "qemu-system-x86_64", "--version"),
    ("sudo", "sudo", "--version"),
)

# One line per tool: "label<TAB>path or empty<TAB>first version line". Fixed
# text: nothing from the person or the network is pasted into it. `timeout`
# bounds a tool that hangs instead of printing its version (5 s: a version
# flag answers in milliseconds; a cold disk may take a second or two).
PROBE_SCRIPT = "\n".join(
    [
        "probe() {",
        '  p=$(command -v "$2" 2>/dev/null) || p=""',
        '  v=""',
        '  if [ -n "$p" ] && [ -n "$3" ]; then',
        '    if command -v timeout >/dev/null 2>&1; then t="timeout 5"; else t=""; fi',
        '    v=$($t "$p" "$3" 2>&1 </dev/null | grep -v \'^$\' | head -n 1)',
        "  fi",
        '  printf \'%s\\t%s\\t%s\\n\' "$1" "$p" "$v"',
        "}",
        *(f"probe {label} {prog} {shlex.quote(flag)}" for label, prog, flag in TOOLS),
        'printf \'python\\t%s\\t%s\\n\' "$(command -v python3)" "$(python3 --version 2>&1)"',
    ]
)
# 5 tools at up to 5 s each, plus the login shell: bound the whole probe.
PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None
    version: str

    @property
    def found(self) -> bool:
        return self.path is not None


def parse(output: str) -> list[Tool]:
    tools = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        name, path, version = parts
        tools.append(Tool(name, path or None, version.strip()))
    return tools


async def run_locally(script: str, timeout: float = PROBE_TIMEOUT_S) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        script,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def probe_tools(runner: SshHost | None) -> list[Tool]:
    """The tools on the host behind ``runner`` (None: this machine)."""
    if runner is None:
        _status, out, err = await run_locally(PROBE_SCRIPT)
    else:
        result = await runner.run(PROBE_SCRIPT, PROBE_TIMEOUT_S)
        out, err = result.stdout, result.stderr
    tools = parse(out)
    if not tools:
        log.warning("the tool probe printed nothing usable; stderr: %s", err[-500:])
    return tools
