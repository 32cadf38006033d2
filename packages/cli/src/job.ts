/**
 * `nv run`: one feed per source through the runtime, with the chosen stages; JSON lines,
 * annotated MP4, progress, a summary; a draining stop on Ctrl-C.
 */
import { redactUrl, type SourceSpec, type TrackId } from '@nv/core';
import { probeSource } from '@nv/media';
import { TEXT, TextDetector, TextRecognizer } from '@nv/ocr';
import { OnnxDetector } from '@nv/onnx';
import type { Stage } from '@nv/perception';
import { Runtime, type FeedHandle, type FeedSettings, type OutputEnvelope } from '@nv/runtime';
import { TrackerStage } from '@nv/tracking';
import { createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { JobConfig } from './config-file.js';
import { outputToJson } from './jsonl.js';
import { isFinite } from './sources.js';
import { AnnotateStage, FrameLimitStage } from './stages.js';

/** Where the CLI writes (injectable for tests). */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** A live status line (only when stderr is a TTY). */
  readonly status?: (line: string) => void;
}

/** Exit codes of the `nv` command. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, source: 3, model: 4, interrupted: 130 });

/** A job's failure with the exit code it maps to. */
export class JobError extends Error {
  constructor(message: string, readonly code: number) { super(message); }
}

/** A resolved job: feeds, stages, outputs. */
export interface JobPlan {
  readonly feeds: readonly FeedSettings[];
  readonly detector?: JobConfig['detector'];
  readonly ocr: false | Exclude<JobConfig['ocr'], boolean | undefined> | Record<string, never>;
  readonly track: false | Exclude<JobConfig['track'], boolean | undefined> | Record<string, never>;
  readonly out?: string | undefined;
  readonly annotate?: string | undefined;
  readonly maxFrames?: number | undefined;
}

interface TrackSummary { id: TrackId; feed: number; classId: number; text: string; confidence: number; first: number; last: number; frames: number }

/** What a finished job reports. */
export interface JobResult {
  readonly code: number;
  readonly feeds: { id: number; source: string; processed: number; dropped: number; failed: number; fps: number; stopReason: string }[];
  readonly tracks: TrackSummary[];
  readonly outPath: string | undefined;
  readonly annotated: string[];
}

function annotatePath(base: string, index: number, n: number): string {
  if (n === 1) return base;
  const ext = extname(base) || '.mp4';
  return join(dirname(base), `${basename(base, ext)}-feed${index + 1}${ext}`);
}

function describeSource(s: SourceSpec): string {
  switch (s.kind) {
    case 'file': return s.path;
    case 'rtsp': return redactUrl(s.url);
    case 'v4l2': return s.device;
    case 'testPattern': return `testpattern:${s.pattern}`;
    case 'custom': return 'custom pipeline';
  }
}

/** Checks what can be checked before anything starts: files exist, model files exist, output dirs exist. */
function preflight(plan: JobPlan): void {
  if (plan.feeds.length === 0) throw new JobError('no source given (nv run <file | rtsp://… | /dev/videoN | testpattern:NAME>)', EXIT.usage);
  for (const f of plan.feeds) {
    const s = f.source as SourceSpec;
    if (s.kind === 'file') {
      let ok = false;
      try { ok = statSync(s.path).isFile(); } catch { /* below */ }
      if (!ok) throw new JobError(`source not found: ${s.path}`, EXIT.source);
    }
  }
  if (plan.detector && !existsSync(plan.detector.model)) throw new JobError(`model not found: ${plan.detector.model}`, EXIT.model);
  for (const p of [plan.out, plan.annotate]) {
    if (p && !existsSync(dirname(p))) throw new JobError(`output directory does not exist: ${dirname(p)}`, EXIT.usage);
  }
}

function buildStages(plan: JobPlan, feedIndex: number, fps: number, limit: FrameLimitStage | undefined): { stages: Stage[]; annotate?: AnnotateStage } {
  const stages: Stage[] = [];
  if (limit) stages.push(limit);
  if (plan.detector) {
    stages.push(new OnnxDetector({
      modelPath: plan.detector.model,
      ...(plan.detector.classNames ? { classNames: plan.detector.classNames } : {}),
      ...(plan.detector.scoreThreshold !== undefined ? { scoreThreshold: plan.detector.scoreThreshold } : {}),
      ...(plan.detector.iouThreshold !== undefined ? { iouThreshold: plan.detector.iouThreshold } : {}),
      ...(plan.detector.threads ? { intraOpNumThreads: plan.detector.threads } : {}),
    } as ConstructorParameters<typeof OnnxDetector>[0]));
  } else if (plan.ocr) {
    const o = plan.ocr as { limitSideLen?: number; threads?: number };
    stages.push(new TextDetector({ ...(o.limitSideLen ? { limitSideLen: o.limitSideLen } : {}), ...(o.threads ? { intraOpNumThreads: o.threads } : {}) }));
  }
  if (plan.track) stages.push(new TrackerStage({ ...(plan.track as object) }));
  if (plan.ocr) {
    const o = plan.ocr as { minConfidence?: number; threads?: number };
    stages.push(new TextRecognizer({ ...(o.minConfidence !== undefined ? { minConfidence: o.minConfidence } : {}), ...(o.threads ? { intraOpNumThreads: o.threads } : {}) }));
  }
  let annotate: AnnotateStage | undefined;
  if (plan.annotate) {
    annotate = new AnnotateStage(annotatePath(plan.annotate, feedIndex, plan.feeds.length), fps, plan.detector?.classNames ?? (plan.ocr ? ['text'] : undefined));
    stages.push(annotate);
  }
  return { stages, ...(annotate ? { annotate } : {}) };
}

/**
 * Runs a job to completion (end of every file, `maxFrames`, or `signal` aborted: a draining
 * stop). Never throws for runtime failures: they map to the result's exit code.
 * @throws {JobError} for problems found before starting (missing source/model, bad paths)
 */
export async function runJob(plan: JobPlan, io: Io, signal?: AbortSignal): Promise<JobResult> {
  preflight(plan);
  const rt = new Runtime();
  const errors: string[] = [];
  rt.onHealth((e) => {
    if (e.type === 'SourceDisconnected') errors.push(`source: ${e.reason.message}`);
    if (e.type === 'StageError' && errors.length < 20) errors.push(`stage '${e.stageId}': ${e.error.message}`);
    if (e.type === 'StagePanic') errors.push(`stage '${e.stageId}' crashed: ${e.detail}`);
  });
  const outStream: WriteStream | undefined = plan.out ? createWriteStream(plan.out) : undefined;
  let outError: Error | undefined;
  outStream?.on('error', (e) => { outError = e; });
  const tracks = new Map<string, TrackSummary>();
  const feeds: { handle: FeedHandle; source: string; expected: number | undefined; annotate: AnnotateStage | undefined; started: number }[] = [];
  const classNames = plan.detector?.classNames;

  for (let i = 0; i < plan.feeds.length; i++) {
    const settings = plan.feeds[i]!;
    const spec = settings.source as SourceSpec;
    let fps = 30;
    let expected: number | undefined;
    if (isFinite(spec) && spec.kind === 'file') {
      try {
        const p = await probeSource(spec, { timeoutMs: 15_000 });
        fps = p.fps ?? 30;
        if (p.durationMs) expected = Math.round((p.durationMs / 1000) * fps);
      } catch (e) {
        await rt.shutdown();
        throw new JobError(`cannot read ${describeSource(spec)}: ${(e as Error).message}`, EXIT.source);
      }
    } else if (spec.kind === 'testPattern') {
      fps = spec.fps; expected = spec.frames;
    }
    if (plan.maxFrames) expected = Math.min(expected ?? plan.maxFrames, plan.maxFrames);
    const limit = plan.maxFrames ? new FrameLimitStage(plan.maxFrames) : undefined;
    const { stages, annotate } = buildStages(plan, i, fps, limit);
    const live = !isFinite(spec);
    const handle = rt.addFeed({
      ...settings,
      source: spec,
      stages,
      backpressure: settings.backpressure ?? (live ? { kind: 'dropOldest', queueDepth: 4 } : { kind: 'block', queueDepth: 4 }),
      // The CLI fails fast: live sources reconnect inside the media layer (5 attempts, 0.5 → 4 s)
      // and a feed whose source is gone for good ends the job instead of restarting; config
      // files can ask for other policies.
      restart: settings.restart ?? { restartOn: 'never' },
      media: { ...settings.media, reconnect: settings.media?.reconnect ?? { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 4000 } },
      sinkQueueCapacity: settings.sinkQueueCapacity ?? 1024,
      sink: {
        emit: (o: OutputEnvelope) => {
          if (outStream && !outError) outStream.write(`${JSON.stringify(outputToJson(o, classNames))}\n`);
          for (const t of o.artifacts.tracks) {
            const key = `${o.feedId}:${t.id}`;
            let s = tracks.get(key);
            if (!s) { s = { id: t.id, feed: o.feedId, classId: t.classId, text: '', confidence: 0, first: o.seq, last: o.seq, frames: 0 }; tracks.set(key, s); }
            s.last = o.seq;
            if (t.state === 'confirmed' || t.state === 'tentative') s.frames++;
            const r = t.metadata.get(TEXT);
            if (r && r.confidence >= s.confidence) { s.text = r.text; s.confidence = r.confidence; }
          }
        },
      },
    });
    if (limit) limit.onLimit = () => { void handle.stop(); };
    feeds.push({ handle, source: describeSource(spec), expected, annotate, started: performance.now() });
  }

  // Progress / status line.
  const statusTimer = io.status ? setInterval(() => {
    const parts = feeds.map((f, i) => {
      const m = f.handle.metrics();
      const secs = (performance.now() - f.started) / 1000;
      const fps = secs > 0 ? m.framesProcessed / secs : 0;
      if (f.expected) {
        const frac = Math.min(1, m.framesReceived / f.expected);
        const w = 20, n = Math.round(frac * w);
        return `feed ${i + 1} [${'='.repeat(n)}${' '.repeat(w - n)}] ${Math.round(frac * 100)}% ${m.framesProcessed}/${f.expected} ${fps.toFixed(1)} fps drops ${m.framesDropped + m.outputsDropped}`;
      }
      return `feed ${i + 1} ${m.framesProcessed} frames ${fps.toFixed(1)} fps drops ${m.framesDropped + m.outputsDropped} ${f.handle.state()}`;
    });
    io.status?.(parts.join(' | '));
  }, 500) : undefined;

  let interrupted = false;
  const onAbort = () => { interrupted = true; void rt.shutdown(); };
  signal?.addEventListener('abort', onAbort, { once: true });
  await Promise.all(feeds.map((f) => f.handle.done));
  signal?.removeEventListener('abort', onAbort);
  clearInterval(statusTimer);
  const diag = rt.diagnostics();
  await rt.shutdown();
  if (outStream) await new Promise<void>((r) => outStream.end(r));

  let code: number = EXIT.ok;
  const result: JobResult['feeds'] = [];
  for (let i = 0; i < feeds.length; i++) {
    const f = feeds[i]!;
    const d = diag.feeds[i]!;
    const secs = (performance.now() - f.started) / 1000;
    const sr = d.stopReason;
    const reason = !sr ? 'running' : sr.kind === 'Fatal' ? `failed: ${sr.detail}` : sr.kind;
    result.push({ id: d.id, source: f.source, processed: d.metrics.framesProcessed, dropped: d.metrics.framesDropped + d.metrics.outputsDropped, failed: d.metrics.framesFailed, fps: secs > 0 ? d.metrics.framesProcessed / secs : 0, stopReason: reason });
    if (sr?.kind === 'Fatal' || sr?.kind === 'RestartLimitExceeded') {
      const detail = sr.kind === 'Fatal' ? sr.detail : `restart limit exceeded after ${sr.restartCount} restarts`;
      if (/ModelLoadFailed/.test(detail)) code = Math.max(code, EXIT.model);
      else if (d.metrics.framesReceived === 0) code = Math.max(code, EXIT.source);
      else code = Math.max(code, EXIT.failed);
      io.err(`nv: feed ${i + 1} (${f.source}): ${detail}${errors.length && !detail.includes(errors[0]!) ? ` — ${errors.at(-1)}` : ''}`);
    }
  }
  if (outError) { io.err(`nv: cannot write ${plan.out}: ${outError.message}`); code = Math.max(code, EXIT.failed); }
  if (interrupted && code === EXIT.ok) code = EXIT.ok;
  return {
    code, feeds: result, outPath: plan.out,
    tracks: [...tracks.values()].filter((t) => t.frames >= 3).sort((a, b) => a.feed - b.feed || a.first - b.first),
    annotated: feeds.flatMap((f) => (f.annotate && f.annotate.framesWritten > 0 ? [f.annotate.path] : [])),
  };
}

/** Prints a job's summary: per feed, per track (with text), output paths. */
export function printSummary(r: JobResult, io: Io): void {
  for (const f of r.feeds) {
    io.out(`feed ${f.id} ${f.source}: ${f.processed} frames processed, ${f.dropped} dropped, ${f.failed} failed, ${f.fps.toFixed(1)} frames/s — ${f.stopReason}`);
  }
  if (r.tracks.length) {
    io.out('');
    io.out('track  feed  text                  conf   first  last  frames');
    for (const t of r.tracks) {
      io.out(`${String(t.id).padStart(5)}  ${String(t.feed).padStart(4)}  ${(t.text || '-').padEnd(20)}  ${t.confidence ? t.confidence.toFixed(2) : '  - '}  ${String(t.first).padStart(5)}  ${String(t.last).padStart(4)}  ${String(t.frames).padStart(6)}`);
    }
  }
  io.out('');
  if (r.outPath) io.out(`outputs:  ${r.outPath}`);
  for (const a of r.annotated) io.out(`video:    ${a}`);
}

