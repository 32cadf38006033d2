#!/usr/bin/python3
"""Minimal RTSP test server for nv tests (@nv/test-util startRtspTestServer) (run with /usr/bin/python3, which has gi).

Serves a live H.264 test pattern (pattern=ball; --width x --height at --fps, default 320x240 @ 30) at
rtsp://127.0.0.1:<port>/test, one pipeline shared by every client. With --clip PATH it serves
that H.264 MP4 instead, paced in real time, from its start for each new session (not shared):
when the clip ends, the server ends the session (RTCP BYE) and the next session plays it again.
With --user/--password, basic auth is required and anonymous clients are refused. Prints
"READY <port>" on stdout once the server is attached, then runs until SIGTERM/SIGINT.

Usage: /usr/bin/python3 rtsp-server.py --port 8554 [--width W --height H --fps F --key-int-max K]
       [--clip clip.mp4] [--user U --password P]
"""
import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# The live test pattern (str.format fields: width, height, fps, key_int_max).
LAUNCH = (
    '( videotestsrc is-live=true pattern=ball '
    '! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 '
    '! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={key_int_max} '
    '! rtph264pay name=pay0 pt=96 )'
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--width', type=int, default=320)
    parser.add_argument('--height', type=int, default=240)
    parser.add_argument('--fps', type=int, default=30)
    parser.add_argument('--key-int-max', type=int, default=15, help='frames between keyframes of the test pattern')
    parser.add_argument('--clip', help='serve this H.264 MP4 (finite) instead of the live test pattern')
    parser.add_argument('--user')
    parser.add_argument('--password')
    args = parser.parse_args()
    if (args.user is None) != (args.password is None):
        parser.error('--user and --password must be given together')

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    if args.clip is None:
        factory.set_launch(LAUNCH.format(width=args.width, height=args.height, fps=args.fps, key_int_max=args.key_int_max))
        factory.set_shared(True)
    else:
        # A fresh pipeline per session: each one plays the clip from its start, then ends.
        quoted = '"' + args.clip.replace('\\', '\\\\').replace('"', '\\"') + '"'
        factory.set_launch(f'( filesrc location={quoted} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
        factory.set_shared(False)

    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken.new()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, args.user)
        basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password)
        auth.add_basic(basic, token)
        # No default token: anonymous clients get 401.
        server.set_auth(auth)
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            f'{args.user}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true'))

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
