#!/usr/bin/env python3
"""The detection job in Python, the peer of tools/bench/detection-job.mjs (which runs this in
the venv it makes): cv2.VideoCapture (OpenCV's FFmpeg backend) -> letterbox (cv2.resize
INTER_LINEAR into a preallocated 114-padded canvas) -> cv2.dnn.blobFromImage (CHW float32 RGB
/255) -> onnxruntime session.run with the given intra-op threads -> best class per anchor,
score threshold, class-aware NMS (cv2.dnn.NMSBoxesBatched) -> count.

Timed: from opening the capture to the last frame's detections. Not timed: interpreter start,
imports, session creation and one warm-up run (the Node variants exclude the same).
Prints one JSON line: {"frames", "seconds", "fps", "detections", "versions"}.

Run: python detection-job.py --model M.onnx --clip C.mp4 --threads 2 [--frames 120]
"""
import argparse
import json
import time

import cv2
import numpy as np
import onnxruntime as ort


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: the whole clip)")
    ap.add_argument("--size", type=int, default=640)
    ap.add_argument("--score", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.45)
    a = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    S = a.size
    sess.run(None, {name: np.full((1, 3, S, S), 0.45, np.float32)})  # warm-up, untimed

    canvas = np.full((S, S, 3), 114, np.uint8)
    frames = dets = 0
    t0 = time.perf_counter()
    cap = cv2.VideoCapture(a.clip)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {a.clip}")
    geom = None
    while a.frames == 0 or frames < a.frames:
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
        out = sess.run(None, {name: blob})[0][0]  # [84, N]
        scores = out[4:]
        cls = scores.argmax(0)
        conf = scores[cls, np.arange(scores.shape[1])]
        keep = conf >= a.score
        if keep.any():
            cx, cy, bw, bh = out[:4, keep]
            # to frame pixels (top-left x, y, w, h), as NMSBoxes takes them
            boxes = np.stack([(cx - bw / 2 - left) / r, (cy - bh / 2 - top) / r, bw / r, bh / r], 1)
            idx = cv2.dnn.NMSBoxesBatched(boxes.tolist(), conf[keep].tolist(), cls[keep].tolist(), a.score, a.iou)
            dets += len(idx)
        frames += 1
    cap.release()
    s = time.perf_counter() - t0
    print(json.dumps({
        "frames": frames, "seconds": s, "fps": frames / s, "detections": dets,
        "versions": f"onnxruntime {ort.__version__}, opencv {cv2.__version__}, numpy {np.__version__}",
    }))


if __name__ == "__main__":
    main()
