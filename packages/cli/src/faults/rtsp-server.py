#!/usr/bin/python3
"""RTSP server for the CLI's fault suite (run with /usr/bin/python3, which has gi).

Serves rtsp://127.0.0.1:<port>/test: a live H.264 test pattern (pattern=ball) of --width x
--height at --fps, one pipeline shared by every client; or, with --clip PATH, that H.264 MP4
from its start for each new session, after which the server ends the session (RTCP BYE).
Prints "READY <port>" on stdout once it is attached, then runs until SIGTERM/SIGINT.

Usage: /usr/bin/python3 rtsp-server.py --port 8554 [--width 160 --height 120 --fps 15] [--clip clip.mp4]
"""
import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--width', type=int, default=160)
    parser.add_argument('--height', type=int, default=120)
    parser.add_argument('--fps', type=int, default=15)
    parser.add_argument('--clip', help='serve this H.264 MP4 (finite, once per session) instead of the live pattern')
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    if args.clip is None:
        factory.set_launch(
            f'( videotestsrc is-live=true pattern=ball '
            f'! video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1 '
            f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} '
            f'! rtph264pay name=pay0 pt=96 )')
        factory.set_shared(True)
    else:
        quoted = '"' + args.clip.replace('\\', '\\\\').replace('"', '\\"') + '"'
        factory.set_launch(f'( filesrc location={quoted} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
        factory.set_shared(False)
    server.get_mount_points().add_factory('/test', factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f'FAILED to bind 127.0.0.1:{args.port}', file=sys.stderr, flush=True)
        return 1

    def on_signal(*_a):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, on_signal)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, on_signal)
    print(f'READY {args.port}', flush=True)
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
