/**
 * What nv needs from the system, found from the code, and whether tools/setup/bootstrap.sh
 * installs it on a fresh Debian machine.
 *
 * - {@link scanSources} reads the repository (C++, TypeScript/JavaScript, Python) for every
 *   GStreamer element it creates: `gst_element_factory_make("x")` (and wrappers around it),
 *   `{ factory: 'x' }` element lists, launch descriptions (gst-launch-1.0 argument lists,
 *   `parse_launch`/`set_launch` strings, custom `pipeline:` fragments),
 *   `Gst.ElementFactory.make('x')` (and wrappers), and `hasElement('x')` probes.
 * - {@link traceRuntimeElements} runs the pipelines nv runs (file decode, discoverer, RTSP over
 *   TCP and UDP) with GStreamer's factory log on, for the elements decodebin, rtspsrc and the
 *   discoverer plug in at run time (demuxers, parsers, decoders, RTP elements).
 * - {@link resolveElements} maps each element to its plugin file (`gst-inspect-1.0`) and Debian
 *   package (`dpkg -S`).
 * - {@link parseAptPackages} + {@link readDpkgDb} + {@link dependencyClosure} give the packages a
 *   `apt-get install --no-install-recommends $APT_PACKAGES` brings in, approximated over the
 *   installed packages; {@link checkElements} reports every element whose package is outside it.
 * - {@link scanCommands} / {@link scanPythonImports} do the same for spawned programs and for
 *   what the Python helpers import.
 *
 * Used by gst-elements.test.ts.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, relative } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/**
 * How something is used. Elements: created by name, in a launch description, only probed for
 * (optional), or seen created at run time. Programs: spawned. Python: imported (modules, typelibs,
 * the interpreter named by the shebang).
 */
export type UseKind = 'factory' | 'launch' | 'probe' | 'runtime' | 'spawn' | 'import';

/** One place where an element (or a command, or a Python module) is used. */
export interface Use {
  /** Element factory name, command, or Python module. */
  readonly name: string;
  readonly kind: UseKind;
  /** Repository-relative file, or `runtime: <scenario>` for a run-time trace. */
  readonly where: string;
  /** 1-based line in `where`, when it is a file. */
  readonly line?: number;
}

/** Formats a use as `file:line (kind)`. */
export function formatUse(u: Use): string {
  return `${u.where}${u.line !== undefined ? `:${u.line}` : ''} (${u.kind})`;
}

// ---------------------------------------------------------------------------------------------
// Source scan

const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'target', '__pycache__']);
const SOURCE_FILE = /\.(?:[cm]?[jt]s|py|cc|cpp|cxx|c|h|hpp)$/;
/** This scanner and its test: they name elements without using them. */
const SELF = ['tools/setup/gst-elements.ts', 'tools/setup/gst-elements.test.ts'];

/**
 * Source files under `root` (repository-relative, sorted): C/C++, TS/JS, Python; skips
 * dependency and build folders, hidden folders, `.d.ts` files and this scanner itself.
 */
export function listSourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (ent.name.startsWith('.')) continue;
      const abs = join(dir, ent.name);
      if (ent.isDirectory()) {
        if (!SKIP_DIRS.has(ent.name)) walk(abs);
      } else if (ent.isFile() && SOURCE_FILE.test(ent.name) && !ent.name.endsWith('.d.ts')) {
        const rel = relative(root, abs).split('\\').join('/');
        if (!SELF.includes(rel)) out.push(rel);
      }
    }
  };
  walk(root);
  return out.sort();
}

/** Splits a launch description into tokens: whitespace-separated, quoted runs kept whole, `!` always a token. */
export function launchTokens(desc: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of desc) {
    if (quote !== null) {
      cur += ch;
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (/\s/.test(ch) || ch === '!') {
      if (cur) out.push(cur);
      cur = '';
      if (ch === '!') out.push('!');
    } else {
      cur += ch;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** A launch argument that is not a string literal (an expression in an argv array). */
const EXPR = '\u0000';
const ELEMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_+-]*$/;

/**
 * Element factory names in launch tokens (a gst-launch-1.0 argv, or {@link launchTokens}).
 * In launch syntax a bare word is an element; properties (`k=v`), caps (`video/x-raw,…`), pad
 * references (`t.`), URIs, options (`-q`), bin parentheses and non-literal arguments are not.
 */
export function launchElements(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of tokens) {
    const t = raw.replace(/^\(+/, '').replace(/\)+$/, '');
    if (t.startsWith('-') || t.includes(EXPR)) continue;
    if (ELEMENT_NAME.test(t)) out.push(t);
  }
  return out;
}

function lineAt(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Index of the bracket closing the one at `open`, skipping strings; -1 if none. */
function matchingBracket(text: string, open: number): number {
  const pairs: Record<string, string> = { '[': ']', '(': ')', '{': '}' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      for (i++; i < text.length && text[i] !== ch; i++) if (text[i] === '\\') i++;
    } else if (pairs[ch]) {
      stack.push(pairs[ch]);
    } else if (ch === stack.at(-1)) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** Top-level comma-separated items of an array/argument list body. */
function splitTopLevel(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      for (i++; i < body.length && body[i] !== ch; i++) if (body[i] === '\\') i++;
    } else if ('[({'.includes(ch)) depth++;
    else if ('])}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) { out.push(body.slice(start, i)); start = i + 1; }
  }
  out.push(body.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The value of a JS string literal item (templates' `${…}` become {@link EXPR}), else {@link EXPR}. */
function literalValue(item: string): string {
  const m = /^(['"`])([\s\S]*)\1$/.exec(item);
  if (!m) return EXPR;
  let v = m[2]!;
  if (m[1] === '`') v = v.replace(/\$\{[^}]*\}/g, EXPR);
  return v.replace(/\\(.)/g, '$1');
}

const STR = String.raw`'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"`;

function scanCpp(text: string, add: (name: string, kind: UseKind, index: number) => void): void {
  const makers = ['gst_element_factory_make'];
  // Wrappers: functions taking `const char* p` that pass `p` to gst_element_factory_make.
  for (const m of text.matchAll(/\b(\w+)\s*\(\s*const\s+g?char\s*\*\s*(\w+)[^)]*\)\s*\{/g)) {
    const end = text.indexOf('\n}', m.index);
    const body = text.slice(m.index, end < 0 ? undefined : end);
    if (new RegExp(String.raw`gst_element_factory_make\s*\(\s*${m[2]}\b`).test(body)) makers.push(m[1]!);
  }
  for (const fn of makers) {
    for (const m of text.matchAll(new RegExp(String.raw`\b${fn}\s*\(\s*"([^"]+)"`, 'g'))) add(m[1]!, 'factory', m.index);
  }
  for (const m of text.matchAll(/\bgst_element_factory_find\s*\(\s*"([^"]+)"/g)) add(m[1]!, 'probe', m.index);
  for (const m of text.matchAll(/\bgst_parse_(?:launch|bin_from_description)\s*\(\s*"((?:[^"\\]|\\.)*)"/g)) {
    for (const e of launchElements(launchTokens(m[1]!))) add(e, 'launch', m.index);
  }
}

function scanJs(text: string, add: (name: string, kind: UseKind, index: number) => void): void {
  for (const m of text.matchAll(/\bfactory\s*:\s*(['"`])([\w+-]+)\1/g)) add(m[2]!, 'factory', m.index);
  // gst-launch-1.0 argv arrays: execFileSync('gst-launch-1.0', [ ... ]), spawn(...), ...
  for (const m of text.matchAll(/(['"`])gst-launch-1\.0\1\s*,\s*\[/g)) {
    const open = m.index + m[0].length - 1;
    const close = matchingBracket(text, open);
    if (close < 0) continue;
    const argv = splitTopLevel(text.slice(open + 1, close)).map(literalValue);
    for (const e of launchElements(argv)) add(e, 'launch', m.index);
  }
  // Launch descriptions given as literals: custom sources, post-decode hooks, launch specs.
  for (const m of text.matchAll(new RegExp(String.raw`\b(?:pipeline|postDecodeHook|launch)\s*:\s*(${STR}|\`[^\`]*\`)`, 'g'))) {
    for (const e of launchElements(launchTokens(literalValue(m[1]!)))) add(e, 'launch', m.index);
  }
  // hasElement('x'), or ['x', 'y'].some((e) => …hasElement(e)).
  for (const m of text.matchAll(/\bhasElement\s*\(\s*(?:(['"`])([\w+-]+)\1|(\w+))\s*\)/g)) {
    if (m[2] !== undefined) { add(m[2], 'probe', m.index); continue; }
    const before = text.slice(Math.max(0, m.index - 400), m.index);
    const arrays = [...before.matchAll(new RegExp(String.raw`\[([^\[\]]*)\]\s*\.\s*(?:some|every|filter|find|map|forEach)\s*\(\s*\(?\s*${m[3]}\b`, 'g'))];
    const arr = arrays.at(-1);
    if (arr) for (const s of arr[1]!.matchAll(/(['"`])([\w+-]+)\1/g)) add(s[2]!, 'probe', m.index);
  }
}

/** Python string-literal value (adjacent literals concatenate); undefined when not only literals. */
function pyLiterals(expr: string): string | undefined {
  const parts = [...expr.matchAll(/[rbuf]*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/g)];
  const rest = expr.replace(/[rbuf]*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/g, '').replace(/[\s()\\]/g, '');
  if (parts.length === 0 || rest !== '') return undefined;
  return parts.map((p) => p[1]!.slice(1, -1)).join('');
}

function scanPython(text: string, add: (name: string, kind: UseKind, index: number) => void): void {
  const makers = [String.raw`Gst\.ElementFactory\.make`];
  // Wrappers: `def f(p, ...):` whose body calls Gst.ElementFactory.make(p, ...).
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const d = /^(\s*)def\s+(\w+)\s*\(\s*(\w+)/.exec(lines[i]!);
    if (!d) continue;
    const indent = d[1]!.length;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim() !== '' && l.length - l.trimStart().length <= indent) break;
      body.push(l);
    }
    if (new RegExp(String.raw`Gst\.ElementFactory\.make\(\s*${d[3]}\b`).test(body.join('\n'))) makers.push(String.raw`(?<![\w.])${d[2]}`);
  }
  for (const fn of makers) {
    for (const m of text.matchAll(new RegExp(String.raw`${fn}\(\s*(['"])([\w+-]+)\1`, 'g'))) add(m[2]!, 'factory', m.index);
  }
  for (const m of text.matchAll(/\bGst\.ElementFactory\.find\(\s*(['"])([\w+-]+)\1/g)) add(m[2]!, 'probe', m.index);
  // parse_launch / set_launch / parse_bin_from_description with a literal or a module constant.
  for (const m of text.matchAll(/\b(?:parse_launch|set_launch|parse_bin_from_description)\(\s*([^,)]+)/g)) {
    let desc = pyLiterals(m[1]!);
    const constant = /^(\w+)(?:\.format\(.*)?$/.exec(m[1]!.trim())?.[1];
    if (desc === undefined && constant !== undefined) {
      // A module constant: `NAME = '…'` or `NAME = ( '…' '…' )` over several lines (or `NAME.format(…)`).
      const def = new RegExp(String.raw`^${constant}\s*=\s*`, 'm').exec(text);
      if (def) {
        const start = def.index + def[0].length;
        const end = text[start] === '(' ? matchingBracket(text, start) + 1 : text.indexOf('\n', start);
        desc = pyLiterals(text.slice(start, end > start ? end : undefined));
      }
    }
    if (desc !== undefined) for (const e of launchElements(launchTokens(desc))) add(e, 'launch', m.index);
  }
}

/**
 * Every GStreamer element the sources under `root` create or probe for, with where.
 * @param files repository-relative files to read (default: {@link listSourceFiles})
 */
export function scanSources(root: string, files: readonly string[] = listSourceFiles(root)): Use[] {
  const uses: Use[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const seen = new Set<string>();
    const add = (name: string, kind: UseKind, index: number): void => {
      const line = lineAt(text, index);
      const key = `${name}\0${kind}\0${line}`;
      if (!seen.has(key)) { seen.add(key); uses.push({ name, kind, where: file, line }); }
    };
    if (/\.(?:cc|cpp|cxx|c|h|hpp)$/.test(file)) scanCpp(text, add);
    else if (file.endsWith('.py')) scanPython(text, add);
    else scanJs(text, add);
  }
  return uses;
}

// ---------------------------------------------------------------------------------------------
// Run-time trace

/** Options of {@link traceRuntimeElements}. */
export interface TraceOptions {
  /** Repository root (for the RTSP test server script). */
  readonly root: string;
  /** The RTSP test server, repository-relative (default `packages/test-util/src/rtsp-server.py`). */
  readonly rtspServer?: string;
  /** Python with the GStreamer bindings, as nv's helpers use (default `/usr/bin/python3`). */
  readonly python?: string;
  /** Per-command limit (default 30 s). */
  readonly timeoutMs?: number;
}

/** Factory names in a GST_DEBUG=GST_ELEMENT_FACTORY:4 log, in first-creation order. */
export function parseFactoryLog(log: string): string[] {
  return [...new Set([...log.matchAll(/creating element "([^"]+)"/g)].map((m) => m[1]!))];
}

function traceEnv(logFile: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, GST_DEBUG: 'GST_ELEMENT_FACTORY:4', GST_DEBUG_NO_COLOR: '1', GST_DEBUG_FILE: logFile };
  delete env['PYTHONHOME']; // a pyenv on PATH must not leak into the system python
  delete env['PYTHONPATH'];
  return env;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const DISCOVER_PY = `
import sys, gi
gi.require_version('Gst', '1.0'); gi.require_version('GstPbutils', '1.0')
from gi.repository import Gst, GstPbutils
Gst.init(None)
info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(Gst.filename_to_uri(sys.argv[1]))
sys.exit(0 if info.get_result() == GstPbutils.DiscovererResult.OK and info.get_video_streams() else 1)
`;

/**
 * Runs nv's pipelines with GStreamer's element-factory log on and returns every element created:
 * making a test H.264 MP4 (what the tests do), decoding it the way a `file` source does
 * (filesrc ! decodebin ! videoconvertscale ! caps), discovering it (GstDiscoverer, as the native
 * probe does), and reading the RTSP test server over TCP and UDP (rtspsrc ! decodebin) — the
 * server's own elements included.
 * @throws {Error} when a pipeline fails (with its output)
 */
export async function traceRuntimeElements(opts: TraceOptions): Promise<Use[]> {
  const python = opts.python ?? '/usr/bin/python3';
  const timeout = opts.timeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'nv-gst-trace-'));
  const uses: Use[] = [];
  let n = 0;
  const run = async (scenario: string, cmd: string, args: string[]): Promise<void> => {
    const log = join(dir, `trace-${n++}.log`);
    try {
      await execFileP(cmd, args, { env: traceEnv(log), timeout });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`run-time trace '${scenario}' failed: ${cmd} ${args.join(' ')}\n${err.stderr || err.message}`);
    }
    for (const name of parseFactoryLog(readFileSync(log, 'utf8'))) uses.push({ name, kind: 'runtime', where: `runtime: ${scenario}` });
  };
  try {
    const clip = join(dir, 'clip.mp4');
    await run('make an H.264 MP4 (as the tests do)', 'gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=10', '!',
      'video/x-raw,format=I420,width=320,height=240,framerate=30/1', '!', 'x264enc', '!', 'mp4mux', '!', 'filesink', `location=${clip}`]);
    await run('decode the MP4 (file source)', 'gst-launch-1.0', ['-q', 'filesrc', `location=${clip}`, '!', 'decodebin', '!',
      'videoconvertscale', '!', 'video/x-raw,format=RGB', '!', 'fakesink']);
    await run('discover the MP4 (probe)', python, ['-c', DISCOVER_PY, clip]);

    const script = join(opts.root, opts.rtspServer ?? 'packages/test-util/src/rtsp-server.py');
    if (!existsSync(script)) throw new Error(`run-time trace: RTSP test server ${script} not found`);
    const port = await freePort();
    const serverLog = join(dir, 'rtsp-server.log');
    const server = spawn(python, [script, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: traceEnv(serverLog) });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        let errOut = '';
        const timer = setTimeout(() => reject(new Error(`RTSP test server not READY in 10 s: ${errOut}`)), 10_000);
        server.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('READY')) { clearTimeout(timer); resolve(); } });
        server.stderr!.on('data', (d: Buffer) => { errOut += d.toString(); });
        server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`RTSP test server exited (${code}): ${errOut}`)); });
        server.once('error', (e) => { clearTimeout(timer); reject(e); });
      });
      for (const protocols of ['tcp', 'udp']) {
        await run(`read RTSP over ${protocols.toUpperCase()} (rtsp source)`, 'gst-launch-1.0', ['-q', 'rtspsrc', `location=rtsp://127.0.0.1:${port}/test`,
          `protocols=${protocols}`, '!', 'decodebin', '!', 'fakesink', 'num-buffers=10']);
      }
    } finally {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise<void>((r) => server.once('exit', () => r()));
        server.kill('SIGTERM');
        const t = setTimeout(() => server.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(t);
      }
    }
    if (existsSync(serverLog)) {
      for (const name of parseFactoryLog(readFileSync(serverLog, 'utf8'))) uses.push({ name, kind: 'runtime', where: 'runtime: RTSP test server (rtsp-server.py)' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return uses;
}

// ---------------------------------------------------------------------------------------------
// Element → plugin file → Debian package

/** Where an element comes from. */
export interface ElementOrigin {
  readonly element: string;
  /** Plugin name (`staticelements` for the ones linked into libgstreamer). */
  readonly plugin?: string;
  /** The file that provides it (the plugin, or libgstreamer for static elements), symlinks resolved. */
  readonly file?: string;
  /** Debian packages owning `file` (empty when none does). */
  readonly packages: readonly string[];
  /** Why `file` is unknown (element not installed). */
  readonly error?: string;
}

/** Resolves symlinks (for display; see {@link packagesOf} for the lookup). */
function real(path: string): string {
  try { return realpathSync(path); } catch { return path; }
}

/**
 * The paths dpkg may know a file by: dpkg 1.21 has no usr-merge aliasing, so a plugin the
 * registry lists as /lib/… is registered as /usr/lib/…, while /bin/sh resolves to /usr/bin/dash
 * but is registered as /bin/dash.
 */
function dpkgPathCandidates(path: string): string[] {
  const out = new Set<string>();
  for (const p of [path, real(path)]) {
    out.add(p);
    const usr = /^\/usr(\/(?:bin|sbin|lib\w*)\/.*)$/.exec(p);
    if (usr) out.add(usr[1]!);
    else if (/^\/(?:bin|sbin|lib\w*)\//.test(p)) out.add(`/usr${p}`);
  }
  return [...out];
}

/**
 * Debian packages owning each file (empty when none does), from one `dpkg -S` call over every
 * path the file may be registered under. A file inside a global npm install
 * (`…/node_modules/<name>/…`) and not owned by dpkg maps to `npm:<name>`.
 */
export function packagesOf(files: Iterable<string>): Map<string, string[]> {
  const list = [...new Set(files)];
  const owners = dpkgOwners([...new Set(list.flatMap(dpkgPathCandidates))]);
  return new Map(list.map((f) => {
    const pkgs = [...new Set(dpkgPathCandidates(f).flatMap((c) => owners.get(c) ?? []))];
    const npm = [...real(f).matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].at(-1)?.[1];
    return [f, pkgs.length === 0 && npm ? [`npm:${npm}`] : pkgs];
  }));
}

/** File → owning packages, from one `dpkg -S` call (unowned files are absent). */
export function dpkgOwners(files: readonly string[]): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  if (files.length === 0) return owners;
  const r = spawnSync('dpkg', ['-S', ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const line of (r.stdout ?? '').split('\n')) {
    if (line.startsWith('diversion ')) continue;
    const m = /^(.+?): (\/.*)$/.exec(line);
    if (!m) continue;
    const pkgs = m[1]!.split(',').map((p) => p.trim().split(':')[0]!);
    owners.set(m[2]!, [...new Set([...(owners.get(m[2]!) ?? []), ...pkgs])]);
  }
  return owners;
}

function libgstreamerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'ldd "$(command -v gst-inspect-1.0)"'], { encoding: 'utf8' });
  return /libgstreamer-1\.0\.so\.0 => (\S+)/.exec(r.stdout ?? '')?.[1];
}

/**
 * Finds each element's plugin file with `gst-inspect-1.0 <element>` (run in parallel) and its
 * Debian package with one `dpkg -S`. Static core elements (`bin`, `pipeline`) map to libgstreamer.
 */
export async function resolveElements(elements: Iterable<string>, concurrency = 8): Promise<Map<string, ElementOrigin>> {
  const names = [...new Set(elements)].sort();
  const found = new Map<string, { plugin?: string; file?: string; error?: string }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        const { stdout } = await execFileP('gst-inspect-1.0', [name], { maxBuffer: 16 << 20, timeout: 20_000 });
        const details = stdout.slice(stdout.indexOf('Plugin Details:'));
        const plugin = /^\s+Name\s+(\S+)/m.exec(details)?.[1];
        const file = /^\s+Filename\s+(\S+)/m.exec(details)?.[1];
        found.set(name, { ...(plugin !== undefined ? { plugin } : {}), ...(file !== undefined && file !== '(null)' ? { file } : {}) });
      } catch (e) {
        found.set(name, { error: `gst-inspect-1.0 ${name}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim()}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  let core: string | undefined;
  for (const [name, f] of found) {
    if (f.error === undefined && f.file === undefined) {
      core ??= libgstreamerPath();
      if (core) found.set(name, { ...f, file: core });
    }
  }
  const owners = packagesOf([...found.values()].flatMap((f) => (f.file ? [f.file] : [])));
  const out = new Map<string, ElementOrigin>();
  for (const name of names) {
    const f = found.get(name)!;
    const file = f.file ? real(f.file) : undefined;
    out.set(name, {
      element: name, packages: f.file ? owners.get(f.file) ?? [] : [],
      ...(f.plugin !== undefined ? { plugin: f.plugin } : {}), ...(file !== undefined ? { file } : {}),
      ...(f.error !== undefined ? { error: f.error } : f.file === undefined ? { error: 'no plugin file found' } : {}),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What the bootstrap installs

/**
 * The packages in `APT_PACKAGES="…"` of a bootstrap script (backslash-newline continuations
 * allowed). @throws {Error} when there is no such assignment
 */
export function parseAptPackages(script: string): string[] {
  const m = /^\s*APT_PACKAGES="([^"]*)"/m.exec(script);
  if (!m) throw new Error('no APT_PACKAGES="…" assignment in the bootstrap script');
  return m[1]!.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
}

/**
 * Packages a bootstrap script installs with `npm install -g` (as `npm:<name>`, versions
 * dropped), e.g. `npm install -g --no-fund "pnpm@$PNPM_VERSION"` → `npm:pnpm`.
 */
export function parseNpmGlobals(script: string): string[] {
  const out: string[] = [];
  for (const m of script.matchAll(/\bnpm\s+(?:install|i)\s+(?:-g|--global)\b([^\n]*)/g)) {
    for (const raw of m[1]!.split(/\s+/)) {
      const t = raw.replace(/^["']|["']$/g, '');
      if (!t || t.startsWith('-') || t.startsWith('>') || t.startsWith('/')) continue;
      const name = /^((?:@[^/@]+\/)?[^@]+)/.exec(t)?.[1];
      if (name && /^[@\w./-]+$/.test(name)) out.push(`npm:${name}`);
    }
  }
  return out;
}

/** One package as dpkg knows it. */
export interface DpkgPackage {
  readonly name: string;
  readonly installed: boolean;
  /** `Essential: yes`: dpkg and apt keep it on every Debian system. */
  readonly essential: boolean;
  /** Virtual package names it provides. */
  readonly provides: readonly string[];
  /** Depends and Pre-Depends: each clause is a list of alternatives (package names). */
  readonly depends: readonly (readonly string[])[];
}

/**
 * Parses a Depends-style field: `a (>= 1) | b:any, c [amd64] <!nocheck>` →
 * `[['a', 'b'], ['c']]` (versions, architecture qualifiers and restrictions dropped).
 */
export function parseDepends(field: string): string[][] {
  return field.split(',').map((clause) => clause.split('|')
    .map((alt) => alt.replace(/\([^)]*\)|\[[^\]]*\]|<[^>]*>/g, '').trim().split(/\s+/)[0]!.split(':')[0]!)
    .filter(Boolean)).filter((c) => c.length > 0);
}

/** Format for {@link parseDpkgQuery}: package, status, Provides, Depends, Pre-Depends, Essential. */
export const DPKG_QUERY_FORMAT = '${Package}\t${db:Status-Abbrev}\t${Provides}\t${Depends}\t${Pre-Depends}\t${Essential}\n';

/** Parses `dpkg-query -W -f=DPKG_QUERY_FORMAT` output (multi-arch instances of a package merge). */
export function parseDpkgQuery(text: string): Map<string, DpkgPackage> {
  const db = new Map<string, DpkgPackage>();
  for (const line of text.split('\n')) {
    const [name, status = '', provides = '', depends = '', pre = '', essential = ''] = line.split('\t');
    if (!name) continue;
    const prev = db.get(name);
    db.set(name, {
      name,
      installed: (prev?.installed ?? false) || status[1] === 'i',
      essential: (prev?.essential ?? false) || essential.trim() === 'yes',
      provides: [...new Set([...(prev?.provides ?? []), ...parseDepends(provides).flat()])],
      depends: [...(prev?.depends ?? []), ...parseDepends(pre), ...parseDepends(depends)],
    });
  }
  return db;
}

/** The dpkg database of this machine. */
export function readDpkgDb(): Map<string, DpkgPackage> {
  const r = spawnSync('dpkg-query', ['-W', `-f=${DPKG_QUERY_FORMAT}`], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`dpkg-query failed: ${r.stderr}`);
  return parseDpkgQuery(r.stdout);
}

/** Result of {@link dependencyClosure}. */
export interface Closure {
  /** The roots, the Essential packages, and everything they pull in through Depends/Pre-Depends. */
  readonly packages: ReadonlySet<string>;
  /** Roots that are not installed here (their dependencies are unknown, so not followed). */
  readonly notInstalled: readonly string[];
}

/**
 * The packages a fresh Debian system has after `apt-get install --no-install-recommends roots`,
 * over the installed packages: the roots and the installed Essential packages (on every Debian
 * system), with their Depends and Pre-Depends (never Recommends/Suggests), transitively. In a
 * clause `a | b` the first alternative that is installed here counts (apt's choice); a virtual
 * package counts as all its installed providers. Version constraints are not checked (dpkg
 * keeps installed packages consistent).
 */
export function dependencyClosure(roots: Iterable<string>, db: ReadonlyMap<string, DpkgPackage>): Closure {
  const providers = new Map<string, string[]>();
  for (const p of db.values()) if (p.installed) for (const v of p.provides) providers.set(v, [...(providers.get(v) ?? []), p.name]);
  const resolve = (name: string): string[] => (db.get(name)?.installed ? [name] : providers.get(name) ?? []);
  const packages = new Set<string>();
  const notInstalled: string[] = [];
  const queue: string[] = [];
  const push = (name: string): void => { if (!packages.has(name)) { packages.add(name); queue.push(name); } };
  for (const r of roots) {
    const got = resolve(r);
    if (got.length === 0) { notInstalled.push(r); packages.add(r); }
    got.forEach(push);
  }
  for (const p of db.values()) if (p.installed && p.essential) push(p.name);
  while (queue.length > 0) {
    const p = db.get(queue.shift()!);
    if (!p?.installed) continue;
    for (const clause of p.depends) {
      for (const alt of clause) {
        const got = resolve(alt);
        if (got.length > 0) { got.forEach(push); break; }
      }
    }
  }
  return { packages, notInstalled };
}

// ---------------------------------------------------------------------------------------------
// The check

/** Why a used element (or command, or module) is not covered by the bootstrap. */
export type ProblemReason = 'not-installed' | 'not-packaged' | 'not-bootstrapped';

/** One thing nv uses that a fresh machine set up by the bootstrap would lack. */
export interface Problem {
  readonly name: string;
  readonly reason: ProblemReason;
  readonly file?: string;
  readonly packages: readonly string[];
  readonly uses: readonly Use[];
  /** One line: name → file → package, why, and where it is used. */
  readonly message: string;
}

/** Groups uses by name. */
export function byName(uses: readonly Use[]): Map<string, Use[]> {
  const m = new Map<string, Use[]>();
  for (const u of uses) m.set(u.name, [...(m.get(u.name) ?? []), u]);
  return new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
}

function describeUses(uses: readonly Use[]): string {
  const shown = uses.slice(0, 4).map(formatUse).join(', ');
  return uses.length > 4 ? `${shown} and ${uses.length - 4} more` : shown;
}

/**
 * Every required item (used other than only as a `probe`) whose origin is unknown, not from a
 * Debian package, or from a package outside `closure`.
 */
export function checkOrigins(uses: readonly Use[], origins: ReadonlyMap<string, { file?: string; packages: readonly string[]; error?: string }>,
  closure: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  for (const [name, us] of byName(uses)) {
    if (us.every((u) => u.kind === 'probe')) continue;
    const o = origins.get(name) ?? { packages: [], error: 'not resolved' };
    const where = `used at ${describeUses(us)}`;
    let reason: ProblemReason | undefined;
    let why = '';
    if (!o.file) { reason = 'not-installed'; why = `not installed here (${o.error ?? 'unknown'})`; }
    else if (o.packages.length === 0) { reason = 'not-packaged'; why = 'not from any Debian package'; }
    else if (!o.packages.some((p) => closure.has(p))) { reason = 'not-bootstrapped'; why = `not installed by tools/setup/bootstrap.sh (APT_PACKAGES or their Depends)`; }
    if (reason === undefined) continue;
    problems.push({
      name, reason, ...(o.file ? { file: o.file } : {}), packages: o.packages, uses: us,
      message: `${name} → ${o.file ?? '?'} → ${o.packages.join(', ') || '?'}: ${why}; ${where}`,
    });
  }
  return problems;
}

/** A table of items, their files and packages, and where they are used (for the test log). */
export function formatTable(uses: readonly Use[], origins: ReadonlyMap<string, { file?: string; packages: readonly string[] }>): string {
  const rows = [...byName(uses)].map(([name, us]) => {
    const o = origins.get(name);
    const optional = us.every((u) => u.kind === 'probe') ? ' (probe only, optional)' : '';
    return `${name.padEnd(22)} ${(o?.packages.join(', ') || '-').padEnd(30)} ${(o?.file ?? 'not installed').padEnd(62)} ${describeUses(us)}${optional}`;
  });
  return rows.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Commands and Python modules

/**
 * Programs the sources spawn: the literal first argument of spawn/spawnSync/execFile/
 * execFileSync or of a same-file wrapper that passes its first parameter on (`run('tar', …)`),
 * or a same-file `const X = …` whose last string literal is the default, as in
 * `opts.python ?? process.env.X ?? '/usr/bin/python3'`), the first word of exec/execSync
 * literals, and `subprocess.*(['cmd', …])` in Python. Arguments that are other expressions
 * (`process.execPath`, computed paths) are skipped.
 */
export function scanCommands(root: string, files: readonly string[] = listSourceFiles(root)): Use[] {
  const uses: Use[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const add = (name: string, index: number): void => { uses.push({ name, kind: 'spawn', where: file, line: lineAt(text, index) }); };
    if (file.endsWith('.py')) {
      for (const m of text.matchAll(/\bsubprocess\.\w+\(\s*\[\s*(['"])([^'"]+)\1/g)) add(m[2]!, m.index);
      continue;
    }
    if (!/\.[cm]?[jt]s$/.test(file)) continue;
    // Wrappers: `function run(cmd, …) { … spawnSync(cmd, …) }` or `const run = (cmd, …) => …`.
    const spawners = ['spawn', 'spawnSync', 'execFile', 'execFileSync'];
    for (const m of text.matchAll(/\bfunction\s+(\w+)\s*\(\s*(\w+)|\b(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?\(\s*(\w+)/g)) {
      const [fn, param] = [m[1] ?? m[3], m[2] ?? m[4]];
      const open = text.indexOf('(', m.index);
      const close = matchingBracket(text, open);
      if (close < 0) continue;
      const rest = text.slice(close + 1);
      const brace = /^\s*(?::[^={]*)?(?:=>\s*)?\{/.exec(rest);
      const body = brace ? text.slice(close + 1, matchingBracket(text, close + brace[0].length) + 1) : rest.split('\n')[0]!;
      if (new RegExp(String.raw`\b(?:spawn|spawnSync|execFile|execFileSync)\s*\(\s*${param}\b`).test(body)) spawners.push(fn!);
    }
    const calls = new RegExp(String.raw`(?<![\w.$])(?:${[...new Set(spawners)].join('|')})\s*\(\s*([^,()]+?)\s*[,)]`, 'g');
    for (const m of text.matchAll(calls)) {
      const arg = m[1]!;
      let cmd = literalValue(arg);
      if (cmd === EXPR && /^[A-Za-z_$][\w$]*$/.test(arg)) {
        const def = new RegExp(String.raw`\b(?:const|let|var)\s+${arg.replace(/\$/g, '\\$')}\s*=\s*([^;\n]+)`).exec(text);
        const lits = def ? [...def[1]!.matchAll(new RegExp(STR, 'g'))] : [];
        if (lits.length > 0) cmd = literalValue(lits.at(-1)![0]);
      }
      if (cmd !== EXPR && cmd !== '' && !cmd.includes(EXPR)) add(cmd, m.index);
    }
    for (const m of text.matchAll(/(?<![\w.$])exec(?:Sync)?\s*\(\s*(['"`])([^\s'"`]+)/g)) add(m[2]!, m.index);
  }
  return uses;
}

/**
 * What the bootstrap takes as given rather than installs (its step 0: "Node >= 20.19, npm"):
 * the Debian package of this Node binary when it has one (NodeSource's `nodejs`), and the npm
 * bundled with Node (`npm:npm`, for npm/npx from a tarball or nvm install).
 */
export function nodePrerequisites(): string[] {
  return [...(packagesOf([process.execPath]).get(process.execPath) ?? []), 'npm:npm'];
}

/** Resolves a command like a spawn would: an absolute path as is, a bare name on PATH. */
export function whichCommand(cmd: string, path = process.env['PATH'] ?? ''): string | undefined {
  const candidates = isAbsolute(cmd) || cmd.includes('/') ? [cmd] : path.split(delimiter).filter(Boolean).map((d) => join(d, cmd));
  for (const c of candidates) {
    try { if (statSync(c).isFile()) return c; } catch { /* next */ }
  }
  return undefined;
}

/** Origins (file, packages) of commands, keyed by command. */
export function resolveCommands(cmds: Iterable<string>): Map<string, ElementOrigin> {
  const files = new Map<string, string | undefined>();
  for (const c of new Set(cmds)) files.set(c, whichCommand(c));
  const owners = packagesOf([...files.values()].filter((f): f is string => f !== undefined));
  return new Map([...files].map(([c, f]) => [c, {
    element: c, packages: f ? owners.get(f) ?? [] : [], ...(f ? { file: real(f) } : { error: 'not found on PATH' }),
  }]));
}

/**
 * What the Python helpers import, resolved by the interpreter each names in its shebang
 * (`#!/usr/bin/python3`): top-level `import x` / `from x import`, `gi.repository` names as
 * GObject-introspection typelibs (`gi.require_version('GstRtspServer', '1.0')`), and the
 * interpreter itself. Returns uses (name `python:<module>`, `typelib:<Ns>-<ver>`, or the
 * interpreter path) and their origins.
 */
export function scanPythonImports(root: string, files: readonly string[] = listSourceFiles(root)): { uses: Use[]; origins: Map<string, ElementOrigin> } {
  const uses: Use[] = [];
  const resolved = new Map<string, string | undefined>();
  for (const file of files.filter((f) => f.endsWith('.py'))) {
    const text = readFileSync(join(root, file), 'utf8');
    const interp = /^#!\s*(\S+)/.exec(text)?.[1];
    if (!interp || !interp.startsWith('/') || interp.endsWith('/env')) continue;
    uses.push({ name: interp, kind: 'import', where: file, line: 1 });
    if (!resolved.has(interp)) resolved.set(interp, existsSync(interp) ? interp : undefined);
    const mods = new Map<string, number>();
    for (const m of text.matchAll(/^(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import)/gm)) {
      const mod = (m[1] ?? m[2])!.split('.')[0]!;
      if (!mods.has(mod)) mods.set(mod, m.index);
    }
    const typelibs = new Map<string, number>();
    for (const m of text.matchAll(/\bgi\.require_version\(\s*(['"])(\w+)\1\s*,\s*(['"])([\w.]+)\3/g)) typelibs.set(`${m[2]}-${m[4]}`, m.index);
    // One interpreter run: each module's file (builtins have none) and the typelib search path.
    const py = `import importlib.util, json, sys
out = {}
for m in sys.argv[1:]:
    s = importlib.util.find_spec(m)
    out[m] = s.origin if s and s.origin and s.origin.startswith('/') else ('builtin' if s else None)
try:
    import gi; gi.require_version('GIRepository', '2.0'); from gi.repository import GIRepository
    out['@typelib-path'] = GIRepository.Repository.get_search_path()
except Exception:
    out['@typelib-path'] = []
print(json.dumps(out))`;
    const env = { ...process.env };
    delete env['PYTHONHOME'];
    delete env['PYTHONPATH'];
    const r = spawnSync(interp, ['-c', py, ...mods.keys()], { encoding: 'utf8', env, timeout: 20_000 });
    const info = r.status === 0 ? JSON.parse(r.stdout) as Record<string, string | string[] | null> : {};
    for (const [mod, index] of mods) {
      const origin = info[mod];
      if (origin === 'builtin') continue;
      uses.push({ name: `python:${mod}`, kind: 'import', where: file, line: lineAt(text, index) });
      resolved.set(`python:${mod}`, typeof origin === 'string' ? origin : undefined);
    }
    const searchPath = Array.isArray(info['@typelib-path']) ? info['@typelib-path'] : [];
    for (const [lib, index] of typelibs) {
      uses.push({ name: `typelib:${lib}`, kind: 'import', where: file, line: lineAt(text, index) });
      const f = searchPath.map((d) => join(d, `${lib}.typelib`)).find((p) => existsSync(p));
      resolved.set(`typelib:${lib}`, f);
    }
  }
  const owners = packagesOf([...resolved.values()].filter((f): f is string => f !== undefined));
  const origins = new Map([...resolved].map(([n, f]) => [n, {
    element: n, packages: f ? owners.get(f) ?? [] : [], ...(f ? { file: real(f) } : { error: 'not importable' }),
  }]));
  return { uses, origins };
}
