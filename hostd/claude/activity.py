"""Is the agent working, waiting for the person, idle, or gone?

Pure: the caller captures the tmux pane (its visible text, whether it is dead)
and reads the session signals; :class:`ActivityTracker` remembers how the pane
changed and since when the state holds. No I/O, no clock of its own unless
the caller gives none. Its memory (:class:`PaneMemory`) is plain data, so
another hostd can carry on from it (hostd.observe.activities keeps it in the
sandbox's runtime folder).

Each activity says what it came from (``source``): the pane (``pane``), the
Claude session files (``session``) or the process (``process``: the pane is
dead). A prompt on screen that keys can answer carries a ``request``:
``{"id": "pane-<12 hex of the pane's hash>", "kind": "permission" |
"question", "tool": None, "input": None, "via": "keys"}``; the id changes
with anything on screen, so an answer to a prompt no longer shown can be
told from one to the prompt there now.

How the states are decided, strongest evidence first:

1. ``exited``: the pane is dead.
2. ``waiting`` with the question as reason: the pane shows a Claude Code
   dialog (a numbered choice under a question, with one of Claude Code's own
   option texts or footers), e.g. "Do you want to proceed?".
3. With Claude session signals:
   ``waiting`` "turn ended" when the last response ended the turn (a
   terminal stop_reason, an interrupt, an API error); ``waiting`` on a tool
   call that has no result while the pane stands still (a prompt we could not
   read, or a question); ``working`` while the pane changes (Claude Code
   animates its spinner and counts seconds the whole time it works);
   ``waiting`` "turn ended" when the last response was text only with a null
   stop_reason and the pane has settled (stop_reason alone is not trusted:
   it is often null).
4. The pane alone (other agents, or Claude before its first line): changing
   is ``working``; a still last line that asks (``[y/N]``, ends in ``?``,
   ``Password:``) is ``waiting`` with that line; still for ``idle_after`` is
   ``idle``; a shorter pause keeps ``working`` (output often pauses while an
   agent thinks).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..protocol import methods as m
from .files import iso_ms
from .sessions import SessionSignals

WORKING, WAITING, IDLE, EXITED = "working", "waiting", "idle", "exited"
PANE, SESSION, PROCESS = m.SOURCE_PANE, m.SOURCE_SESSION, m.SOURCE_PROCESS  # its source
PERMISSION, QUESTION = "permission", "question"  # a pane request's kind
PANE_REQUEST_PREFIX = "pane-"

# A pane unchanged this long is still. Claude Code redraws its spinner several
# times a second and its elapsed-seconds counter every second whenever it
# works (tools included), so 3 s is three missed ticks plus poll jitter.
STILL_AFTER_S = 3.0

# Other agents print nothing while they wait for a model's first token, often
# for 10 to 20 s with long thinking; 30 s of stillness is idleness, not a pause.
IDLE_AFTER_S = 30.0

# Without a pane to look at, a session line this recent means work goes on:
# Claude Code writes lines at least per content block and per tool result.
FRESH_S = 10.0

# Claude Code draws its dialogs at the bottom of the screen; its options are
# followed by at most a footer, a border and a hint line or two.
_MAX_LINES_BELOW_OPTIONS = 8
_MAX_LINES_TO_OPTION_ONE = 12  # long options wrap over a few lines
_MAX_QUESTION_DISTANCE = 6  # non-empty lines between the question and option 1
_BOX_CHARS = "".join(chr(c) for c in range(0x2500, 0x2580)) + "\u258c\u2590 \t"
# The selection pointer before an option: U+276F (Claude Code), U+203A, U+25B6,
# U+25CF (other CLIs) or ">".
_POINTERS = "\u276f\u203a\u25b6\u25cf>"
_OPTION = re.compile(rf"^(?:[{_POINTERS}]\s*)?(\d{{1,2}})[.)]\s+(\S.*)$")
# Texts only Claude Code's dialogs show (verified in public pane scrapers and
# tests for Claude Code 1.x-2.1): option labels and footers.
_CLAUDE_OPTION_TEXTS = (
    "tell Claude what to do differently",
    "don't ask again",
    "allow all edits",
    "for this session",
    "Yes, allow",
    "No, keep planning",
    "auto-accept edits",
)
_CLAUDE_FOOTERS = ("Esc to cancel", "Enter to confirm", "Esc to exit")
_QUESTION_STARTS = ("Do you want to", "Would you like to", "Do you trust")
# Claude Code's input box (empty or typed in): no dialog is open.
_INPUT_BOX = re.compile(r"^[>\u276f](?:\s|$)|\? for shortcuts")

_SHELL_QUESTION = re.compile(
    r"(?i)(?:[\[(](?:y/n|yes/no)[\])]|\(y\)es/\(n\)o"  # [y/N], (yes/no), aider's (Y)es/(N)o
    r"|\?\s*[\]:>)]?\s*$"  # ends with a question mark
    r"|(?:password|passphrase)[^:]*:\s*$"
    r"|press (?:enter|return|any key))"
)
# The questions that y or n answer (a password or "press Enter" are the person's).
_YES_NO = re.compile(r"(?i)[\[(](?:y/n|yes/no)[\])/]|\(y\)es/\(n\)o")
_YES_NO_WORDS = re.compile(r"(?i)[\[(]yes/no")


@dataclass(frozen=True)
class Activity:
    state: str
    reason: str | None
    since: float  # epoch seconds when this tracker first saw this state and reason
    source: str = PANE
    request: dict[str, Any] | None = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """What makes it a new activity: state, reason and the request's id."""
        return self.state, self.reason, self.request["id"] if self.request else None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "since": iso_ms(self.since),
                "source": self.source, "request": self.request}  # fmt: skip


@dataclass(frozen=True)
class PaneMemory:
    """What a tracker remembers of a pane: enough for another to carry on."""

    hash: str | None
    first_seen: float | None
    changed_at: float | None
    current: Activity | None


class ActivityTracker:
    """One per sandbox pane: feed it every poll, read the state it returns.

    ``since`` changes when the state, its reason or the prompt on screen
    changes, so a second permission prompt right after the first is a new wait.
    """

    def __init__(self, still_after: float = STILL_AFTER_S, idle_after: float = IDLE_AFTER_S):
        self.still_after = still_after
        self.idle_after = idle_after
        self._hash: str | None = None
        self._first_seen: float | None = None
        self._changed_at: float | None = None
        self._current: Activity | None = None

    @property
    def current(self) -> Activity | None:
        return self._current

    @property
    def memory(self) -> PaneMemory:
        return PaneMemory(self._hash, self._first_seen, self._changed_at, self._current)

    def restore(self, memory: PaneMemory) -> None:
        """Carry on from another tracker's memory of the same pane (a tracker
        that has looked itself keeps its own)."""
        if self._hash is None:
            self._hash, self._first_seen = memory.hash, memory.first_seen
            self._changed_at, self._current = memory.changed_at, memory.current

    def update(
        self,
        pane_text: str | None,
        *,
        pane_dead: bool = False,
        exit_status: int | None = None,
        session: SessionSignals | None = None,
        now: float | None = None,
    ) -> Activity:
        """Classify one observation. ``pane_text`` is None when the pane could not be read."""
        now = time.time() if now is None else now
        if pane_text is not None:
            h = pane_hash(pane_text)
            if self._hash is None:
                self._first_seen = now
            elif h != self._hash:
                self._changed_at = now
            self._hash = h
        changing = self._changed_at is not None and now - self._changed_at < self.still_after
        ref = self._changed_at if self._changed_at is not None else self._first_seen
        still_for = now - ref if ref is not None else 0.0
        state, reason, source, kind = classify(
            pane_text,
            pane_dead=pane_dead,
            exit_status=exit_status,
            changing=changing,
            still=still_for >= self.still_after,
            idle=still_for >= self.idle_after,
            session=session,
            previous=self._current.state if self._current else None,
            now=now,
        )
        request = None
        if kind is not None and self._hash is not None:
            request = {"id": PANE_REQUEST_PREFIX + self._hash[:12], "kind": kind, "tool": None,
                       "input": None, "via": m.VIA_KEYS}  # fmt: skip
        new = Activity(state, reason, now, source, request)
        cur = self._current
        if cur is None or cur.key != new.key:
            cur = self._current = new
        elif cur.source != source:
            cur = self._current = Activity(state, reason, cur.since, source, request)
        return cur


def classify(
    pane_text: str | None,
    *,
    pane_dead: bool,
    changing: bool,
    still: bool,
    idle: bool,
    session: SessionSignals | None = None,
    previous: str | None = None,
    exit_status: int | None = None,
    now: float | None = None,
) -> tuple[str, str | None, str, str | None]:
    """(state, reason, source, prompt kind) from one observation; see the module
    docstring for the rules. The kind (PERMISSION, QUESTION) is set when keys
    can answer what the pane shows.

    ``changing``: the pane changed within the stillness threshold; ``still``:
    it has not changed for that long; both are false when it was seen once.
    ``idle``: it has not changed for the idle threshold.
    """
    if pane_dead:
        reason = f"exit status {exit_status}" if exit_status is not None else None
        return EXITED, reason, PROCESS, None
    text = pane_text or ""
    question = permission_prompt(text)
    if question is not None:
        return WAITING, question, PANE, PERMISSION
    if session is not None and session.last_event_at is not None:
        if session.turn_ended:
            return WAITING, "turn ended", SESSION, None
        if session.pending_tools and still:
            return WAITING, _pending_reason(session.pending_tools[-1]), SESSION, None
        if changing:
            return WORKING, None, PANE, None
        if session.last_kind == "assistant_text" and still:
            return WAITING, "turn ended", SESSION, None
        if pane_text is None:
            fresh = now is not None and now - session.last_event_at < FRESH_S
            return (WORKING, None, SESSION, None) if fresh else (IDLE, None, SESSION, None)
    if changing:
        return WORKING, None, PANE, None
    if still:
        asked = shell_question(text)
        if asked is not None:
            return WAITING, asked, PANE, QUESTION if _YES_NO.search(asked) else None
    if idle:
        return IDLE, None, PANE, None
    if previous == WORKING:
        return WORKING, None, PANE, None  # a pause in the output, not yet idleness
    return IDLE, None, PANE, None


def pane_hash(pane_text: str) -> str:
    """A hash of what the pane shows, the same in every process (hex)."""
    return hashlib.blake2b(_normalize(pane_text).encode(), digest_size=16).hexdigest()


def permission_prompt(pane_text: str) -> str | None:
    """The question of a Claude Code dialog at the bottom of the pane, or None.

    A dialog is a numbered choice starting at "1." under a question, near the
    bottom, with no input box below it, marked as Claude Code's by an option
    text, a footer or the question's wording.
    """
    dialog = _dialog(pane_text)
    return dialog[0] if dialog else None


def prompt_keys(pane_text: str, allow: bool) -> list[str] | None:
    """The keys that answer the prompt the pane shows (yes or no), or None.

    A Claude Code dialog: ``1`` for its first option ("Yes"), with Up first
    to it from where its pointer is (some Claude Code versions take a digit
    as the option under the pointer), and Escape to refuse (its "No, and
    tell Claude what to do differently (esc)"). No Enter after the digit:
    the dialog takes the key at once, and an Enter after it could land on
    the next dialog. A y/n line: its own words, then Enter.
    """
    dialog = _dialog(pane_text)
    if dialog is not None:
        if not allow:
            return ["Escape"]
        return ["Up"] * (dialog[1] - 1) + ["1"]
    asked = shell_question(pane_text)
    if asked is None or not _YES_NO.search(asked):
        return None
    words = bool(_YES_NO_WORDS.search(asked))
    return ["yes" if words else "y", "Enter"] if allow else ["no" if words else "n", "Enter"]


def _dialog(pane_text: str) -> tuple[str, int] | None:
    """(question, the option under the pointer) of a Claude Code dialog, or None."""
    lines = [line.strip(_BOX_CHARS) for line in pane_text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    filled = [i for i, line in enumerate(lines) if line]
    last_option = next(
        (i for i in reversed(filled[-_MAX_LINES_BELOW_OPTIONS - 1 :]) if _OPTION.match(lines[i])),
        None,
    )
    if last_option is None:
        return None
    below = lines[last_option + 1 :]
    if any(_INPUT_BOX.search(line) for line in below):
        return None  # Claude's input box is showing: this is a numbered list in a reply
    first_option = None
    options: list[str] = []
    pointed = 1
    for i in range(last_option, max(-1, last_option - _MAX_LINES_TO_OPTION_ONE), -1):
        m = _OPTION.match(lines[i])
        if m:
            options.append(m.group(2))
            if lines[i][0] in _POINTERS:
                pointed = int(m.group(1))
            if m.group(1) == "1":
                first_option = i
                break
    if first_option is None or len(options) < 2:
        return None
    question = _question_above(lines, first_option)
    marked = (
        any(t in o for o in options for t in _CLAUDE_OPTION_TEXTS)
        or any(f in line for line in below for f in _CLAUDE_FOOTERS)
        or (question is not None and question.startswith(_QUESTION_STARTS))
    )
    if not marked:
        return None
    return question or "permission prompt", pointed


def shell_question(pane_text: str) -> str | None:
    """The last line of the pane when it asks something (y/n, a question, a password)."""
    last = next((ln.strip() for ln in reversed(pane_text.splitlines()) if ln.strip()), "")
    if last and _SHELL_QUESTION.search(last):
        return last
    return None


def _question_above(lines: list[str], first_option: int) -> str | None:
    """The question right above the options, joined with its first half if it wrapped."""
    # Nearest first; the trust dialog puts a path and a sentence in between.
    above = [i for i in range(first_option - 1, -1, -1) if lines[i]][:_MAX_QUESTION_DISTANCE]
    for i in above:
        if "?" in lines[i]:
            q = lines[i]
            if not q[:1].isupper() and i > 0 and lines[i - 1]:
                q = f"{lines[i - 1]} {q}"
            return q
    return None


def _pending_reason(tool: str) -> str:
    if tool == "AskUserQuestion":
        return "Claude asks a question"
    if tool == "ExitPlanMode":
        return "plan ready for review"
    return f"{tool} needs approval"


def _normalize(text: str) -> str:
    # Trailing blanks change with the pane's width, not with what it shows.
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())
