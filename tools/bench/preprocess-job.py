#!/usr/bin/env python3
"""Detection preprocessing without the model, in Python: the peer of the "preprocess" section
of tools/bench/media-throughput.mjs (which runs this in the venv it shares with
detection-job.mjs). Per frame, what tools/bench/detection-job.py does around session.run:
cv2.VideoCapture (OpenCV's FFmpeg backend) -> letterbox (cv2.resize INTER_LINEAR into a
preallocated 114-padded canvas) -> cv2.dnn.blobFromImage (CHW float32 RGB /255) -> decoding a
fixed, synthetic [84, 8400] YOLOv8 output (best class per anchor, score threshold, boxes to
frame pixels) -> class-aware NMS (cv2.dnn.NMSBoxesBatched) -> count.

The output is the same file of float32 values the Node side decodes (written by the bench), so
both sides decode the same candidates and keep the same boxes.

Timed: from opening the capture to the last frame's detections. Not timed: interpreter start,
imports, loading the output file.
Prints one JSON line: {"frames", "seconds", "fps", "detections", "versions"}.

Run: python preprocess-job.py --clip C.mp4 --output O.f32 [--size 640] [--classes 80]
"""
import argparse
import json
import time

import cv2
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", required=True)
    ap.add_argument("--output", required=True, help="float32 file of the [4 + classes, anchors] output")
    ap.add_argument("--size", type=int, default=640)
    ap.add_argument("--classes", type=int, default=80)
    ap.add_argument("--score", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.45)
    a = ap.parse_args()

    S = a.size
    raw = np.fromfile(a.output, dtype=np.float32)
    out = raw.reshape(4 + a.classes, raw.size // (4 + a.classes))  # [84, N]
    canvas = np.full((S, S, 3), 114, np.uint8)
    frames = dets = 0
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(a.clip)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {a.clip}")
    geom = None
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if geom is None:
            h, w = img.shape[:2]
            r = min(S / w, S / h)
            nw, nh = round(w * r), round(h * r)
            top, left = (S - nh) // 2, (S - nw) // 2
            geom = (r, nw, nh, top, left)
        r, nw, nh, top, left = geom
        canvas[top:top + nh, left:left + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True)  # [1, 3, S, S] float32 RGB
        if blob.shape != (1, 3, S, S):
            raise SystemExit(f"unexpected blob shape {blob.shape}")
        # (the model would run on `blob` here)
        scores = out[4:]
        cls = scores.argmax(0)
        conf = scores[cls, np.arange(scores.shape[1])]
        keep = conf >= a.score
        if keep.any():
            cx, cy, bw, bh = out[:4, keep]
            boxes = np.stack([(cx - bw / 2 - left) / r, (cy - bh / 2 - top) / r, bw / r, bh / r], 1)
            idx = cv2.dnn.NMSBoxesBatched(boxes.tolist(), conf[keep].tolist(), cls[keep].tolist(), a.score, a.iou)
            dets += len(idx)
        frames += 1
    cap.release()
    s = time.perf_counter() - t0
    print(json.dumps({
        "frames": frames, "seconds": s, "fps": frames / s, "detections": dets,
        "versions": f"opencv {cv2.__version__}, numpy {np.__version__}",
    }))


if __name__ == "__main__":
    main()
