#!/usr/bin/python3
"""Renders a clip of plate-like text boxes moving over a plain background (H.264 in MP4).

Used by `makeTextClip` (text-clip.ts). Needs the system python with the GStreamer GObject
bindings (python3-gst-1.0): `/usr/bin/python3`.

Usage: text-clip.py OPTIONS_JSON OUTPUT_MP4 OUTPUT_JSON

Each plate is a light `videotestsrc` box with dark `textoverlay` text centred on it, fed to a
`compositor` sink pad whose `xpos`/`ypos` are driven by a GstController
InterpolationControlSource (linear, two control points: first and last frame) through an
absolute DirectControlBinding. The ground truth for every frame is computed from the same
control points with the same formula and written as JSON next to the clip.
"""
import json
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstController', '1.0')
from gi.repository import GLib, Gst, GstController  # noqa: E402


def linear(p0, p1, t0, t1, t):
    """The value an InterpolationControlSource in LINEAR mode yields at `t`."""
    if t <= t0:
        return float(p0)
    if t >= t1:
        return float(p1)
    return p0 + (p1 - p0) * (t - t0) / (t1 - t0)


def main():
    opts = json.loads(sys.argv[1])
    out_mp4 = sys.argv[2]
    out_json = sys.argv[3]
    width, height = int(opts['width']), int(opts['height'])
    fps, frames = int(opts['fps']), int(opts['frames'])
    font, font_px = opts['font'], int(opts['fontSize'])

    Gst.init(None)
    pipeline = Gst.Pipeline.new('text-clip')

    def make(factory, **props):
        e = Gst.ElementFactory.make(factory, None)
        if e is None:
            raise RuntimeError('missing GStreamer element: ' + factory)
        for k, v in props.items():
            e.set_property(k.replace('_', '-'), v)
        pipeline.add(e)
        return e

    def caps(w, h):
        return Gst.Caps.from_string('video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1' % (w, h, fps))

    comp = make('compositor', background='black')
    bg = make('videotestsrc', pattern='solid-color', foreground_color=int(opts['background']), num_buffers=frames)
    bg_caps = make('capsfilter', caps=caps(width, height))
    bg.link(bg_caps)
    pad = comp.request_pad_simple('sink_%u')
    pad.set_property('zorder', 0)
    bg_caps.get_static_pad('src').link(pad)

    t_end = Gst.util_uint64_scale(frames - 1, Gst.SECOND, fps)
    plates = []
    bindings = []  # keep the control sources alive for the pipeline's lifetime
    for i, p in enumerate(opts['plates']):
        bw, bh = int(p['boxWidth']), int(p['boxHeight'])
        box = make('videotestsrc', pattern='solid-color', foreground_color=int(opts['plateColor']), num_buffers=frames)
        box_caps = make('capsfilter', caps=caps(bw, bh))
        text = make('textoverlay', text=p['text'], font_desc='%s %dpx' % (font, font_px), auto_resize=False, wrap_mode=-1,
                    halignment='center', valignment='center', draw_shadow=False, draw_outline=False,
                    color=int(opts['textColor']), wait_text=False)
        box.link(box_caps)
        box_caps.link(text)
        sink = comp.request_pad_simple('sink_%u')
        sink.set_property('zorder', i + 1)
        text.get_static_pad('src').link(sink)
        # Control points are the top-left corner: centre minus half the box.
        x0, y0 = p['from']['x'] - bw / 2.0, p['from']['y'] - bh / 2.0
        x1, y1 = p['to']['x'] - bw / 2.0, p['to']['y'] - bh / 2.0
        for prop, a, b in (('xpos', x0, x1), ('ypos', y0, y1)):
            cs = GstController.InterpolationControlSource()
            cs.set_property('mode', GstController.InterpolationMode.LINEAR)
            cs.set(0, a)
            cs.set(t_end, b)
            binding = GstController.DirectControlBinding.new_absolute(sink, prop, cs)
            sink.add_control_binding(binding)
            bindings.append((cs, binding))
        plates.append({'text': p['text'], 'boxWidth': bw, 'boxHeight': bh, 'x0': x0, 'y0': y0, 'x1': x1, 'y1': y1})

    out_caps = make('capsfilter', caps=caps(width, height))
    enc = make('x264enc', speed_preset='superfast', key_int_max=fps * 2, bframes=0)
    enc.set_property('pass', 'quant')
    enc.set_property('quantizer', int(opts['quantizer']))
    mux = make('mp4mux')
    sink = make('filesink', location=out_mp4)
    comp.link(out_caps)
    out_caps.link(enc)
    enc.link(mux)
    mux.link(sink)

    loop = GLib.MainLoop()
    error = []

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            error.append('%s (%s)' % (err.message, dbg))
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_message)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    if error:
        sys.stderr.write('text-clip: ' + error[0] + '\n')
        sys.exit(1)

    per_frame = []
    for f in range(frames):
        t = Gst.util_uint64_scale(f, Gst.SECOND, fps)
        items = []
        for p in plates:
            # The absolute binding writes the interpolated double into the int property (truncation).
            x = int(linear(p['x0'], p['x1'], 0, t_end, t))
            y = int(linear(p['y0'], p['y1'], 0, t_end, t))
            w, h = p['boxWidth'], p['boxHeight']
            items.append({'text': p['text'], 'cx': x + w / 2.0, 'cy': y + h / 2.0, 'x': x, 'y': y, 'w': w, 'h': h})
        per_frame.append({'index': f, 'ptsNs': t, 'plates': items})
    truth = {
        'width': width, 'height': height, 'fps': fps, 'frameCount': frames,
        'plates': [{'text': p['text'], 'boxWidth': p['boxWidth'], 'boxHeight': p['boxHeight']} for p in plates],
        'perFrame': per_frame,
    }
    with open(out_json, 'w') as fh:
        json.dump(truth, fh)


if __name__ == '__main__':
    main()
