import { MediaError, feedId, type HealthEvent } from '@nv/core';
import { describe, expect, it } from 'vitest';
import { CONNECTED, feedStateText, nextSourceLink, renderStatus, terminalIo, type FeedStatus, type SourceLink } from './index.js';
import { cutToWidth, displayWidth } from './status.js';
import { RecordingTerminal, Screen } from './test-fixtures.js';

const id = feedId(1);
const base: FeedStatus = { label: 'feed 1', processed: 0, received: 0, fps: 0, drops: 0, state: 'running', link: CONNECTED };

describe('status display: what each feed line says', () => {
  it('a feed whose source is disconnected or reconnecting shows that instead of "running", from its health events', () => {
    const lost = MediaError.connectionFailed('rtsp://cam/live', 'refused');
    const events: [HealthEvent, number, string][] = [
      [{ type: 'SourceConnected', feedId: id }, 10, 'running'],
      [{ type: 'SourceDisconnected', feedId: id, reason: lost }, 10, 'disconnected'],
      [{ type: 'SourceReconnecting', feedId: id, attempt: 1, delayMs: 500 }, 10, 'reconnecting (attempt 1)'],
      // The failed attempt is still part of the reconnection: no flicker back to "disconnected".
      [{ type: 'SourceDisconnected', feedId: id, reason: lost }, 10, 'reconnecting (attempt 1)'],
      [{ type: 'SourceReconnecting', feedId: id, attempt: 2, delayMs: 1000 }, 10, 'reconnecting (attempt 2)'],
      [{ type: 'FrameLag', feedId: id, frameAgeMs: 2500, framesLagged: 1 }, 10, 'reconnecting (attempt 2)'],
      [{ type: 'SourceConnected', feedId: id }, 10, 'running'],
      [{ type: 'SourceDisconnected', feedId: id, reason: lost }, 12, 'disconnected'],
    ];
    let link: SourceLink = CONNECTED;
    const seen: string[] = [];
    for (const [e, frames, want] of events) {
      link = nextSourceLink(link, e, frames);
      const text = feedStateText({ ...base, received: frames, link });
      seen.push(text);
      expect(text, e.type).toBe(want);
      expect(renderStatus([{ ...base, received: frames, link }], { columns: 80 })[0]).toMatch(new RegExp(`${want.replace(/[()]/g, '\\$&')}$`));
    }
    // Frames arriving after a disconnection mean the source delivers again (no SourceConnected needed).
    expect(feedStateText({ ...base, received: 13, link })).toBe('running');
    // Once the feed has ended, its outcome wins.
    expect(feedStateText({ ...base, link: { kind: 'reconnecting', attempt: 5, framesAt: 0 }, outcome: 'failed' })).toBe('failed');
    expect(feedStateText({ ...base, state: 'restarting' })).toBe('restarting');
  });

  it('8 feeds fit an 80-column terminal: one line each, every line at most 80 columns, each with its label and state', () => {
    const feeds: FeedStatus[] = [
      { ...base, label: 'gate-north-entrance-camera-7', processed: 1_234_567, received: 1_234_567, expected: 9_999_999, fps: 1234.56, drops: 98_765 },
      { ...base, label: 'lobby', processed: 123_456_789, received: 123_456_789, fps: 29.97, drops: 1_000_000, link: { kind: 'reconnecting', attempt: 12, framesAt: 123_456_789 } },
      { ...base, label: 'dock', processed: 5, received: 5, fps: 0.1, drops: 0, link: { kind: 'disconnected', framesAt: 5 } },
      { ...base, label: 'feed 4', processed: 300, received: 300, expected: 300, fps: 250, drops: 0, outcome: 'done' },
      { ...base, label: 'parking level -2 east', processed: 0, received: 0, expected: 1500, fps: 0, drops: 0, state: 'starting' },
      { ...base, label: 'feed 6', processed: 77, received: 80, fps: 15, drops: 3, state: 'restarting' },
      { ...base, label: 'yard', processed: 999_999, received: 999_999, expected: 1_000_000, fps: 999.9, drops: 12_345, outcome: 'failed' },
      { ...base, label: 'ünïcödé-名前-カメラ', processed: 42, received: 42, fps: 30, drops: 0, state: 'paused' },
    ];
    for (const columns of [80, 60, 40]) {
      const lines = renderStatus(feeds, { columns });
      expect(lines).toHaveLength(8);
      for (const l of lines) expect(displayWidth(l), `${columns}: ${l}`).toBeLessThanOrEqual(columns);
      // The state is never cut away.
      lines.forEach((l, i) => expect(l.endsWith(feedStateText(feeds[i]!)), `${columns}: ${l}`).toBe(true));
    }
    const lines = renderStatus(feeds, { columns: 80 });
    const want = ['running', 'reconnecting (attempt 12)', 'disconnected', 'done', 'starting', 'restarting', 'failed', 'paused'];
    lines.forEach((l, i) => {
      expect(l.startsWith(cutToWidth(feeds[i]!.label, 15))).toBe(true);
      expect(l.endsWith(want[i]!), l).toBe(true);
    });
    // Finite sources get a bar and counts, live ones a frame count.
    expect(lines[3]).toMatch(/\[=+\] 100% 300\/300/);
    expect(lines[1]).toMatch(/123456789 frames/);
    // Wide characters count two columns.
    expect(displayWidth('名前カメラ')).toBe(10);
    expect(displayWidth(lines[7]!)).toBeGreaterThan([...lines[7]!].length);
  });

  it('more feeds than terminal rows: the last line sums up the rest by state', () => {
    const feeds: FeedStatus[] = Array.from({ length: 30 }, (_, i) => ({
      ...base, label: `cam-${i + 1}`, ...(i >= 27 ? { link: { kind: 'reconnecting' as const, attempt: i, framesAt: 0 } } : {}),
    }));
    const lines = renderStatus(feeds, { columns: 80, maxLines: 10 });
    expect(lines).toHaveLength(10);
    expect(lines[8]).toMatch(/^cam-9 /);
    expect(lines[9]).toBe('… 21 more feeds: 18 running, 3 reconnecting');
  });
});

describe('terminal Io: other lines never overwrite the status display', () => {
  it('an error or output line is printed on its own line above the status lines, which are drawn again below it', () => {
    const t = new RecordingTerminal(80, 24);
    const io = terminalIo(t.stdout, t.stderr);
    io.status!(['feed 1 [=====               ]  25% 75/300 30.0 fps running', 'feed 2 120 frames 29.9 fps reconnecting (attempt 2)']);
    io.err('nv: feed 3 (clip.mp4): stage failed to start: ModelLoadFailed');
    expect(t.screen()).toEqual([
      'nv: feed 3 (clip.mp4): stage failed to start: ModelLoadFailed',
      'feed 1 [=====               ]  25% 75/300 30.0 fps running',
      'feed 2 120 frames 29.9 fps reconnecting (attempt 2)',
    ]);
    io.status!(['feed 1 [==========          ]  50% 150/300 30.0 fps running', 'feed 2 121 frames 29.9 fps running']);
    io.out('an output line');
    io.status!(['feed 1 [====================] 100% 300/300 30.0 fps done']);
    io.err('nv: feed 2 (rtsp://***@cam/live): ConnectionFailed');
    expect(t.screen()).toEqual([
      'nv: feed 3 (clip.mp4): stage failed to start: ModelLoadFailed',
      'an output line',
      'nv: feed 2 (rtsp://***@cam/live): ConnectionFailed',
      'feed 1 [====================] 100% 300/300 30.0 fps done',
    ]);
    io.status!([]);
    io.out('summary');
    expect(t.screen()).toEqual([
      'nv: feed 3 (clip.mp4): stage failed to start: ModelLoadFailed',
      'an output line',
      'nv: feed 2 (rtsp://***@cam/live): ConnectionFailed',
      'summary',
    ]);
  });

  it('status lines are cut to the terminal width minus one (never wrapped), and to its height', () => {
    const t = new RecordingTerminal(40, 4);
    const io = terminalIo(t.stdout, t.stderr);
    io.status!(['x'.repeat(100), 'a', 'b', 'c', 'd']);
    expect(t.screen()).toEqual(['x'.repeat(39), 'a', 'b']);
    expect(io.columns).toBe(40);
    io.status!(['short']);
    expect(t.screen()).toEqual(['short']);
  });

  it('stdout redirected: output lines go there without touching the display; stderr not a terminal: no status display', () => {
    const piped = new RecordingTerminal(80, 24, { stdout: false });
    const io = terminalIo(piped.stdout, piped.stderr);
    io.status!(['feed 1 running']);
    const before = piped.data;
    io.out('{"feed":1}');
    expect(piped.data).toBe(`${before}{"feed":1}\n`);
    const plain = new RecordingTerminal(80, 24, { stdout: false, stderr: false });
    const io2 = terminalIo(plain.stdout, plain.stderr);
    expect(io2.status).toBeUndefined();
    io2.err('nv: x');
    io2.out('y');
    expect(plain.data).toBe('nv: x\ny\n');
  });

  it('the screen model itself: wraps at the width, erases what the status display erases', () => {
    expect(new Screen(10).write('0123456789abc\r\nnext').lines()).toEqual(['0123456789', 'abc', 'next']);
    expect(new Screen(10).write('one\ntwo\nthree\r\x1b[2A\x1b[Jnew').lines()).toEqual(['new']);
    expect(() => new Screen().write('\x1b[5m')).toThrow(/unsupported/);
  });
});
