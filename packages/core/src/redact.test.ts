import { describe, expect, it } from 'vitest';
import { MediaError, isInsecureRtsp, promoteRtspToTls, redactUrl, redactUrlsInString, sanitizeErrorString } from './index.js';

describe('redactUrl', () => {
  it.each([
    ['user and password', 'rtsp://admin:hunter2@10.0.0.5:554/stream1', 'rtsp://***@10.0.0.5:554/stream1'],
    ['user only', 'rtsp://admin@cam.local/live', 'rtsp://***@cam.local/live'],
    ['no credentials', 'rtsp://cam.local/live', 'rtsp://cam.local/live'],
    ['@ in path is not userinfo', 'rtsp://cam.local/a@b', 'rtsp://cam.local/a@b'],
    ['@ in password', 'rtsp://u:p@ss@cam/x', 'rtsp://***@cam/x'],
    ['no scheme', 'admin:pw@cam/live', '***@cam/live'],
    ['secret query params', 'rtsps://cam/live?token=abc&channel=1&password=x', 'rtsps://cam/live?token=***&channel=1&password=***'],
    ['suffix-style names', 'https://h/p?api_key=k1&x-auth-token=t&keyframe=3', 'https://h/p?api_key=***&x-auth-token=***&keyframe=3'],
    ['short password names', 'rtsp://cam/live?pw=hunter2&passwd=a&pwd=b&passcode=c&secret=d&key=e&auth=f&sig=g&ch=1', 'rtsp://cam/live?pw=***&passwd=***&pwd=***&passcode=***&secret=***&key=***&auth=***&sig=***&ch=1'],
    ['both, with fragment', 'rtsp://a:b@h/p?sig=zz#frag', 'rtsp://***@h/p?sig=***#frag'],
    ['not a url', 'just text', 'just text'],
    ['unescaped / in password', 'rtsp://admin:p/ss@cam/live', 'rtsp://***@cam/live'],
    ['unescaped ? in password', 'rtsp://admin:pa?ss@cam', 'rtsp://***@cam'],
    ['unescaped # in password', 'rtsp://admin:pa#ss@cam/x', 'rtsp://***@cam/x'],
    ['port then @ in path is not userinfo', 'rtsp://cam:554/a@b', 'rtsp://cam:554/a@b'],
    ['camelCase secret param', 'rtsp://cam/x?accessToken=abc&user=bob', 'rtsp://cam/x?accessToken=***&user=bob'],
    ['token in fragment', 'https://h/p#access_token=abc&x=1', 'https://h/p#access_token=***&x=1'],
  ])('%s', (_n, input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('sanitizeErrorString', () => {
  it.each([
    ['embedded url', 'Could not open rtsp://u:p@cam/x for reading', 'Could not open rtsp://***@cam/x for reading'],
    ['key=value secret', 'auth failed password=hunter2, retry', 'auth failed password=***, retry'],
    ['header', 'Authorization: Bearer abc.def', 'Authorization: Bearer ***'],
    ['control chars', 'line1\nline2\u0000', 'line1 line2 '],
    ['harmless key-like words', 'keyframe=3 monkey=2', 'keyframe=3 monkey=2'],
  ])('%s', (_n, input, expected) => {
    expect(sanitizeErrorString(input)).toBe(expected);
  });
  it('caps the length', () => {
    const s = sanitizeErrorString('x'.repeat(2000));
    expect(s.length).toBe(512 + '...[truncated]'.length);
    expect(s.endsWith('...[truncated]')).toBe(true);
  });
  it('redacts several urls in one text', () => {
    expect(redactUrlsInString('a rtsp://x:y@h1/a and http://k@h2/?token=1')).toBe('a rtsp://***@h1/a and http://***@h2/?token=***');
  });
});

describe('RTSP TLS helpers', () => {
  it.each([
    ['rtsp://cam/x', 'rtsps://cam/x', true],
    ['RTSP://cam/x', 'rtsps://cam/x', true],
    ['rtsps://cam/x', 'rtsps://cam/x', false],
    ['cam/x', 'rtsps://cam/x', false],
  ])('%s', (url, promoted, insecure) => {
    expect(promoteRtspToTls(url)).toBe(promoted);
    expect(isInsecureRtsp(url)).toBe(insecure);
  });
});

describe('errors never carry credentials', () => {
  it('MediaError.connectionFailed redacts url, message and detail', () => {
    const e = MediaError.connectionFailed('rtsp://admin:hunter2@cam/live?token=t0k', '401 Unauthorized for rtsp://admin:hunter2@cam/live');
    const all = JSON.stringify(e.toJSON()) + e.message + String(e.stack);
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('t0k');
    expect(e.url).toBe('rtsp://***@cam/live?token=***');
  });
});
