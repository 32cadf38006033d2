/**
 * Credential redaction for URLs and free-form error text.
 *
 * RTSP cameras are addressed with URLs like `rtsp://admin:secret@10.0.0.5/stream?token=abc`.
 * Nothing nv logs, throws or emits may contain those secrets: every URL goes through
 * {@link redactUrl} and every error detail through {@link sanitizeErrorString}.
 */

/** What replaces a secret. */
export const REDACTED = '***';

/**
 * Query-parameter and `key=value` names whose values are treated as secrets
 * (matched case-insensitively, also as a suffix after `_`/`-`, e.g. `api_key`, `x-auth-token`).
 */
export const SECRET_PARAM_NAMES: readonly string[] = [
  'password', 'passwd', 'pass', 'pwd', 'pw', 'passcode', 'token', 'secret', 'key', 'auth', 'authorization',
  'signature', 'sig', 'credential', 'credentials', 'session', 'sessionid', 'apikey',
];

function isSecretName(name: string): boolean {
  const n = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  if (SECRET_PARAM_NAMES.includes(n)) return true;
  const last = n.split(/[_\-.]/).pop() ?? n;
  return SECRET_PARAM_NAMES.includes(last);
}

/**
 * Redacts the userinfo (`user:pass@`) and secret-looking query parameters of a URL.
 * Works on URLs without a scheme and on strings that are not URLs at all (returned
 * with only the secret parts replaced). An `@` in the path is not userinfo.
 *
 * @param url - any URL-like string
 * @returns the same string with credentials replaced by `***`
 * @example
 * ```ts
 * redactUrl('rtsp://admin:pw@cam/live?token=x&ch=1') // 'rtsp://***@cam/live?token=***&ch=1'
 * ```
 */
export function redactUrl(url: string): string {
  let out = url;
  const schemeIdx = out.indexOf('://');
  const authStart = schemeIdx >= 0 ? schemeIdx + 3 : 0;
  const rest = out.slice(authStart);
  const pathIdx = rest.search(/[/?#]/);
  const authority = pathIdx >= 0 ? rest.slice(0, pathIdx) : rest;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    out = out.slice(0, authStart) + REDACTED + authority.slice(at) + rest.slice(authority.length);
  } else {
    // Passwords with unescaped '/', '?' or '#' (common in camera configs) end the authority
    // early. If the text up to the last '@' looks like "user:secret", treat it as userinfo
    // anyway — over-redacting a URL is better than leaking a password.
    const lastAt = rest.lastIndexOf('@');
    const colon = rest.indexOf(':');
    if (lastAt > 0 && colon > 0 && colon < lastAt) {
      const user = rest.slice(0, colon);
      const afterColon = rest.slice(colon + 1, lastAt);
      const looksLikePort = /^\d+(?:[/?#]|$)/.test(afterColon);
      if (!/[/?#]/.test(user) && !looksLikePort) out = out.slice(0, authStart) + REDACTED + rest.slice(lastAt);
    }
  }
  return redactQuery(out);
}

function redactParams(params: string): string {
  return params
    .split(/([&;])/)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) return part;
      let name = part.slice(0, eq);
      try { name = decodeURIComponent(name); } catch { /* keep raw */ }
      return isSecretName(name) ? `${part.slice(0, eq)}=${REDACTED}` : part;
    })
    .join('');
}

function redactQuery(url: string): string {
  const hash = url.indexOf('#');
  const beforeHash = hash >= 0 ? url.slice(0, hash) : url;
  const fragment = hash >= 0 ? url.slice(hash + 1) : undefined;
  const q = beforeHash.indexOf('?');
  const base = q >= 0 ? beforeHash.slice(0, q + 1) + redactParams(beforeHash.slice(q + 1)) : beforeHash;
  // Fragments can carry tokens too (e.g. OAuth-style `#access_token=…`).
  return fragment === undefined ? base : `${base}#${redactParams(fragment)}`;
}

const URL_IN_TEXT = /\b(?:rtsps?|rtspt|https?|srt|rtmps?|udp|tcp):\/\/[^\s'"<>)]+/gi;

/**
 * Applies {@link redactUrl} to every URL (rtsp, rtsps, http(s), rtmp, srt…) embedded in free text.
 * @param text - e.g. a GStreamer error message
 * @returns text with every URL's credentials redacted
 */
export function redactUrlsInString(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => redactUrl(m));
}

const MAX_ERROR_LEN = 512;
const KV_SECRET = /\b([A-Za-z][\w.-]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,'"]+)/g;

/**
 * Makes a string safe to log: control characters become spaces, it is capped at 512
 * characters, embedded URLs are redacted, and values after secret-looking names
 * (`password=…`, `token: …`, `Authorization: Bearer …`) become `***`.
 *
 * @param text - any message
 * @returns the sanitized message
 */
export function sanitizeErrorString(text: string): string {
  // eslint-disable-next-line no-control-regex
  let s = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  s = redactUrlsInString(s);
  s = s.replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`);
  s = s.replace(KV_SECRET, (m, name: string, sep: string, value: string) => {
    if (!isSecretName(name) || value === REDACTED) return m;
    if (/^(bearer|basic)$/i.test(value)) return m;
    return `${name}${sep}${REDACTED}`;
  });
  if (s.length > MAX_ERROR_LEN) s = s.slice(0, MAX_ERROR_LEN) + '...[truncated]';
  return s;
}

/**
 * Whether a URL is plain, unencrypted RTSP (`rtsp://`, case-insensitive).
 * @param url - source URL
 */
export function isInsecureRtsp(url: string): boolean {
  return /^rtsp:\/\//i.test(url.trim());
}

/**
 * Rewrites a URL to RTSP over TLS: `rtsp://` → `rtsps://`, no scheme → `rtsps://` prefixed,
 * `rtsps://` unchanged. Other schemes are returned unchanged.
 * @param url - source URL
 */
export function promoteRtspToTls(url: string): string {
  const u = url.trim();
  if (/^rtsps:\/\//i.test(u)) return u;
  if (/^rtsp:\/\//i.test(u)) return 'rtsps://' + u.slice('rtsp://'.length);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) return 'rtsps://' + u;
  return u;
}
