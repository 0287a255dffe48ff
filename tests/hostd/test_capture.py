"""Screenshots and pane text through a real hostd, real Xvfb, real QEMU."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import STUBS, Hostd, processes_mentioning, wait_for

SLEEPER = "sleep 600"
RED, BLUE = (255, 0, 0), (0, 0, 255)


def create(h: Hostd, project: Path, name: str = "cap", **kw: object) -> dict:
    params = {"name": name, "backend": "none", "project_dir": str(project),
              "agent": SLEEPER, "geometry": "640x480", **kw}  # fmt: skip
    return h.call("sandbox.create", **params)


def xsetroot(sb: dict, *args: str) -> None:
    xauth = Path(sb["tmux_socket"]).parent / "xauthority"
    env = {**os.environ, "DISPLAY": sb["display"], "XAUTHORITY": str(xauth)}
    subprocess.run(["xsetroot", *args], env=env, check=True)


def image_of(shot: dict) -> Image.Image:
    im = Image.open(io.BytesIO(base64.b64decode(shot["data"])))
    assert im.size == (shot["width"], shot["height"])
    assert im.format.lower() == shot["format"]
    return im.convert("RGB")


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, colour, strict=False))


def test_screenshot_shows_what_is_on_the_display(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project)
    xsetroot(sb, "-solid", "#ff0000")
    full = hostd.call("sandbox.screenshot", id="cap")
    assert (full["format"], full["width"], full["height"]) == ("png", 640, 480)
    im = image_of(full)
    assert im.getpixel((10, 10)) == RED and im.getpixel((630, 470)) == RED
    assert full["blank"] is True  # one flat colour: nothing drawn yet

    xsetroot(sb, "-mod", "4", "4", "-fg", "#ff0000", "-bg", "#0000ff")  # a plaid
    small = hostd.call("sandbox.screenshot", id="cap", max_width=160, format="jpeg")
    assert (small["width"], small["height"]) == (160, 120)  # aspect kept
    assert small["blank"] is False
    webp = hostd.call("sandbox.screenshot", id="cap", max_width=300, format="webp")
    assert (webp["width"], webp["height"]) == (300, 225)
    image_of(webp)


@pytest.mark.parametrize(
    ("params", "code", "needle"),
    [
        ({"max_width": 0}, -32602, "max_width must be positive"),
        ({"max_width": -5}, -32602, "max_width must be positive"),
        ({"format": "gif"}, -32602, "unknown format 'gif'"),
        ({"format": 3}, -32602, "string"),
    ],
)
def test_bad_screenshot_params(
    hostd: Hostd, project: Path, params: dict, code: int, needle: str
) -> None:
    create(hostd, project)
    err = hostd.error("sandbox.screenshot", id="cap", **params)
    assert err.code == code and needle in err.message


def test_absurd_width_is_capped_and_says_so(hostd: Hostd, project: Path) -> None:
    create(hostd, project)
    shot = hostd.call("sandbox.screenshot", id="cap", max_width=10**9, format="jpeg")
    assert shot["width"] == 640  # never enlarged
    assert "capped" in shot["note"]
    sub = hostd.call("subscribe", topics=["screenshots"], screenshot={"max_width": 10**9})
    assert "capped" in sub["note"]
    note = hostd.wait_notification(lambda n: n.method == "screenshot")
    assert note.params["width"] == 640
    assert hostd.call("subscribe", topics=["screenshots"]) == {}


def test_screenshot_of_stopped_or_unknown_sandbox(hostd: Hostd, project: Path) -> None:
    create(hostd, project)
    hostd.call("sandbox.stop", id="cap")
    err = hostd.error("sandbox.screenshot", id="cap")
    assert err.code == -32003 and "stopped" in err.message
    assert hostd.error("sandbox.screenshot", id="nosuch").code == -32001


def frames(h: Hostd, sid: str) -> list:
    return [n for n in h.seen if n.method == "screenshot" and n.params["id"] == sid]


def test_stream_pushes_only_when_the_picture_changes(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project)
    xsetroot(sb, "-solid", "#ff0000")
    hostd.call("subscribe", topics=["screenshots"],
               screenshot={"interval_s": 0.25, "max_width": 64, "format": "png"})  # fmt: skip
    first = wait_for(lambda: frames(hostd, sb["id"]), what="first frame")[0]
    p = first.params
    assert (p["seq"], p["format"], p["width"], p["height"], p["blank"]) == (1, "png", 64, 48, True)
    assert image_of(p).getpixel((5, 5)) == RED
    time.sleep(2.0)  # eight ticks with nothing changing on the display
    assert len(frames(hostd, sb["id"])) == 1

    xsetroot(sb, "-solid", "#0000ff")
    second = wait_for(lambda: len(frames(hostd, sb["id"])) > 1 and frames(hostd, sb["id"])[1])
    assert second.params["seq"] == 2
    assert image_of(second.params).getpixel((5, 5)) == BLUE

    # New settings: every sandbox's picture is sent anew, in the new size.
    hostd.call(
        "subscribe", topics=["screenshots"], screenshot={"interval_s": 0.25, "max_width": 32}
    )
    third = wait_for(lambda: len(frames(hostd, sb["id"])) > 2 and frames(hostd, sb["id"])[2])
    assert (third.params["width"], third.params["format"]) == (32, "jpeg")
    hostd.call("unsubscribe", topics=["screenshots"])
    time.sleep(0.3)
    count = len(frames(hostd, sb["id"]))
    xsetroot(sb, "-solid", "#00ff00")
    time.sleep(1.0)
    assert len(frames(hostd, sb["id"])) == count


def test_a_sandbox_shown_large_gets_its_own_width(hostd: Hostd, project: Path) -> None:
    big, small = create(hostd, project, "big"), create(hostd, project, "small")
    for sb in (big, small):
        xsetroot(sb, "-solid", "#ff0000")
    settings = {"interval_s": 0.25, "max_width": 64, "widths": {big["id"]: 320}}
    hostd.call("subscribe", topics=["screenshots"], screenshot=settings)
    first = wait_for(lambda: frames(hostd, big["id"]), what="the big one's frame")[0]
    assert first.params["width"] == 320
    assert wait_for(lambda: frames(hostd, small["id"]))[0].params["width"] == 64

    # Shown small again (its view hidden): its picture comes anew at the tile's size;
    # the other sandbox's unchanged picture is not sent again.
    hostd.call("subscribe", topics=["screenshots"], screenshot={**settings, "widths": {}})
    again = wait_for(lambda: len(frames(hostd, big["id"])) > 1 and frames(hostd, big["id"])[1])
    assert (again.params["width"], again.params["seq"]) == (64, 2)
    assert len(frames(hostd, small["id"])) == 1


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"interval_s": 0.1}, "interval_s must be between"),
        ({"max_width": 0}, "max_width must be positive"),
        ({"format": "bmp"}, "unknown format"),
        ({"colour": 1}, "unknown screenshot setting"),
        ({"widths": [320]}, "widths must be an object"),
        ({"widths": {"abc": "320"}}, "must be an integer"),
        ({"widths": {"abc": 0}}, "max_width must be positive"),
        ({"widths": {str(i): 320 for i in range(257)}}, "at most 256"),
    ],
)
def test_bad_stream_settings(hostd: Hostd, settings: dict, needle: str) -> None:
    err = hostd.error("subscribe", topics=["screenshots"], screenshot=settings)
    assert err.code == -32602 and needle in err.message


def test_killed_xvfb_fails_that_capture_only_and_is_logged_once(
    hostd: Hostd, project: Path
) -> None:
    doomed = create(hostd, project, name="doomed")
    fine = create(hostd, project, name="fine")
    xsetroot(fine, "-solid", "#ff0000")
    hostd.call(
        "subscribe", topics=["screenshots"], screenshot={"interval_s": 0.25, "max_width": 32}
    )
    wait_for(lambda: frames(hostd, fine["id"]) and frames(hostd, doomed["id"]))
    [xvfb] = [p for p in processes_mentioning(f"run/{doomed['id']}/") if p.name() == "Xvfb"]
    xvfb.kill()
    err = wait_for(
        lambda: (e := hostd.error("sandbox.screenshot", id="doomed")).code == -32005 and e
    )
    assert "not answering" in err.message
    xsetroot(fine, "-solid", "#0000ff")
    wait_for(lambda: near(image_of(frames(hostd, fine["id"])[-1].params).getpixel((2, 2)), BLUE))
    time.sleep(1.0)  # several more failing ticks
    assert hostd.stderr_text.count("cannot capture doomed") == 1


def test_a_stopped_xvfb_times_out_without_holding_up_anything_else(
    hostd: Hostd, project: Path
) -> None:
    stuck = create(hostd, project, name="stuck")
    fine = create(hostd, project, name="fine")
    xsetroot(fine, "-solid", "#ff0000")
    [xvfb] = [p for p in processes_mentioning(f"run/{stuck['id']}/") if p.name() == "Xvfb"]
    xvfb.suspend()
    try:
        pending = hostd.request("sandbox.screenshot", {"id": "stuck"})
        # While that capture waits on a display that cannot answer, the rest
        # of hostd answers: the list, and another sandbox's picture.
        assert {s["name"] for s in hostd.call("sandbox.list")} == {"stuck", "fine"}
        shot = hostd.call("sandbox.screenshot", id="fine", max_width=32, format="png")
        assert near(image_of(shot).getpixel((2, 2)), (255, 0, 0))
        with hostd._cond:
            assert pending not in hostd.replies  # still waiting
        err = hostd.reply(pending).error
        assert err is not None and err.code == -32005 and "did not answer" in err.message
    finally:
        xvfb.resume()


def vm_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # The stub's switches reach its pane as a person's own names would: a
    # sandbox starts from an allow-list, not hostd's whole environment.
    return {
        "PATH": f"{STUBS / 'vm'}{os.pathsep}{STUBS}{os.pathsep}{os.environ['PATH']}",
        "CLAUDE_SANDBOX_PASS_ENV": " ".join(extra or {}),
        **(extra or {}),
    }


def test_vm_screenshot_through_qmp_shows_the_firmware_screen(hostd_factory, project: Path) -> None:
    h = hostd_factory(env=vm_env())
    sb = h.call("sandbox.create", name="vm1", backend="vm", project_dir=str(project))
    assert sb["display"] is None and sb["qmp_socket"].endswith("qmp.sock")
    shot = wait_for(
        lambda: _try_shot(h, "vm1"),
        timeout=60,
        interval=0.5,
        what="a screendump with something on it",
    )
    im = image_of(shot)
    assert im.size[0] >= 640  # the VGA screen at full size
    h.call("subscribe", topics=["screenshots"], screenshot={"interval_s": 0.5, "max_width": 100})
    frame = wait_for(lambda: frames(h, sb["id"]), timeout=60)[0]
    assert frame.params["width"] == 100


def _try_shot(h: Hostd, ref: str) -> dict | None:
    reply = h.reply(h.request("sandbox.screenshot", {"id": ref}))
    if reply.error is not None or reply.result["blank"]:
        return None
    return reply.result


def test_vm_without_qmp_socket_gives_a_clear_error(hostd_factory, project: Path) -> None:
    h = hostd_factory(env=vm_env({"STUB_VM_NO_QEMU": "1"}))
    h.call("sandbox.create", name="noqmp", backend="vm", project_dir=str(project))
    err = h.error("sandbox.screenshot", id="noqmp")
    assert err.code == -32005 and "does not exist" in err.message


def test_vm_that_never_answers_times_out_without_hanging_hostd(
    hostd_factory, project: Path
) -> None:
    h = hostd_factory(env=vm_env({"STUB_VM_SILENT": "1"}))
    sb = h.call("sandbox.create", name="frozen", backend="vm", project_dir=str(project))
    wait_for(lambda: Path(sb["qmp_socket"]).exists())
    rid = h.request("sandbox.screenshot", {"id": "frozen"})
    t0 = time.monotonic()
    assert h.call("sandbox.list")  # hostd goes on answering meanwhile
    assert time.monotonic() - t0 < 2
    reply = h.reply(rid, timeout=30)
    assert reply.error is not None and reply.error.code == -32005
    assert "did not answer" in reply.error.message


def test_pane_shows_the_terminal(hostd: Hostd, project: Path) -> None:
    create(
        hostd,
        project,
        name="term",
        agent="sh -c 'printf \"hello pane\\n\\033[1;31mred\\033[0m\"; sleep 600'",
    )
    pane = wait_for(lambda: "red" in (p := hostd.call("sandbox.pane", id="term"))["text"] and p)
    assert pane["text"].splitlines()[:2] == ["hello pane", "red"]
    assert (pane["cols"], pane["rows"]) == (200, 50)
    assert pane["cursor"] == [3, 1]
    coloured = hostd.call("sandbox.pane", id="term", escapes=True)
    assert "\x1b[" in coloured["text"] and "red" in coloured["text"]
    hostd.call("sandbox.stop", id="term")
    assert hostd.error("sandbox.pane", id="term").code == -32003


def test_pane_of_an_exited_sandbox_keeps_its_last_screen(hostd: Hostd, project: Path) -> None:
    sb = create(hostd, project, name="gone", agent="sh -c 'echo last words; exit 3'")
    wait_for(lambda: hostd.call("sandbox.get", id=sb["id"])["status"] == "exited")
    assert "last words" in hostd.call("sandbox.pane", id="gone")["text"]
