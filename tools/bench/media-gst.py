#!/usr/bin/python3
"""Bare GStreamer baseline for tools/bench/media-throughput.mjs: one pipeline
`filesrc ! decodebin ! videoconvertscale n-threads=T ! CAPS ! fakesink sync=false`, run in
this process (the system Python with gi; python3-gst-1.0), timed from inside.

Timestamps (time.perf_counter, seconds):
  t_build  before Gst.parse_launch (after interpreter start, imports and Gst.init, i.e. the
           registry load: the fixed cost that gst-launch's wall time includes)
  t_first  the first buffer reaching the fakesink's sink pad (a buffer probe)
  t_last   the last buffer reaching it
  t_eos    the EOS message on the bus
Prints one JSON line: {"frames", "first_to_last_s", "build_to_eos_s", "startup_s", "gst"}.
first_to_last_s covers frames 2..N (N - 1 frame intervals), the same measure the Node side
takes from its first frame to its last.

Run: /usr/bin/python3 media-gst.py --clip C.mp4 --caps 'video/x-raw,format=RGB' [--threads 2]
"""
import argparse
import json
import time

t_process = time.perf_counter()
import gi  # noqa: E402

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", required=True)
    ap.add_argument("--caps", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    Gst.init(None)
    t_init = time.perf_counter()

    t_build = time.perf_counter()
    desc = (f'filesrc location="{a.clip}" ! decodebin ! videoconvertscale n-threads={a.threads} ! '
            f'{a.caps} ! fakesink name=sink sync=false')
    pipe = Gst.parse_launch(desc)
    pad = pipe.get_by_name("sink").get_static_pad("sink")
    state = {"n": 0, "first": None, "last": None}

    def on_buffer(_pad, _info):
        t = time.perf_counter()
        if state["first"] is None:
            state["first"] = t
        state["last"] = t
        state["n"] += 1
        return Gst.PadProbeReturn.OK

    pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    t_eos = time.perf_counter()
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        raise SystemExit(f"pipeline error: {err.message} ({dbg})")
    pipe.set_state(Gst.State.NULL)
    n = state["n"]
    print(json.dumps({
        "frames": n,
        "first_to_last_s": state["last"] - state["first"] if n > 1 else None,
        "build_to_eos_s": t_eos - t_build,
        "startup_s": t_init - t_process,
        "pipeline": desc,
        "gst": Gst.version_string(),
    }))


if __name__ == "__main__":
    main()
