"""The environment a sandbox's tmux server and launcher start with: an allow-list.

hostd runs in the person's login environment, which holds what no sandbox
should see: the SSH agent (``SSH_AUTH_SOCK``), the desktop session
(``WAYLAND_DISPLAY``, ``XDG_RUNTIME_DIR``, ``DBUS_SESSION_BUS_ADDRESS``) and
any token the person exported. A sandbox starts from the names below only,
never from hostd's whole environment; the person adds names for this host in
hostd's own ``CLAUDE_SANDBOX_PASS_ENV`` (spaces or commas between them).
"""

from __future__ import annotations

from collections.abc import Mapping

from .bwrap_plan import NEVER_PASS, PASS_ENV_VAR

# The terminal, the locale and the person's identity: what programs need to
# behave as the person expects, and nothing that reaches a service.
KEEP = frozenset(
    {
        "TERM", "COLORTERM", "LANG", "LANGUAGE", "TZ", "PATH", "HOME", "USER", "LOGNAME",
        "SHELL",
    }
)  # fmt: skip
# Locale categories, and Claude Code's and the Anthropic API's own settings
# (a CLAUDE_CONFIG_DIR here names the person's folder, the launcher's seed).
KEEP_PREFIXES = ("LC_", "CLAUDE_", "ANTHROPIC_")


def pass_names(env: Mapping[str, str]) -> set[str]:
    """The names the person lets through, from ``CLAUDE_SANDBOX_PASS_ENV``."""
    names = env.get(PASS_ENV_VAR, "").replace(",", " ").split()
    # The sandbox's own display and agent socket are decided per sandbox,
    # never by a name in the list.
    return {n for n in names if n not in NEVER_PASS}


def sandbox_env(env: Mapping[str, str], *, ssh_agent: bool) -> dict[str, str]:
    """What of ``env`` (hostd's environment) a sandbox starts with."""
    named = pass_names(env)
    out = {
        k: v
        for k, v in env.items()
        if (k in KEEP or k in named or k.startswith(KEEP_PREFIXES)) and "\0" not in v
    }
    if ssh_agent and env.get("SSH_AUTH_SOCK"):
        # Asked for in sandbox.create: the launcher forwards it (--ssh-agent).
        out["SSH_AUTH_SOCK"] = env["SSH_AUTH_SOCK"]
    return out
