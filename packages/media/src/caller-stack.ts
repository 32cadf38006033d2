/**
 * Caller stacks for errors from asynchronous native calls.
 *
 * A promise from the addon's async work (`NativeEncoder.push/finish`, `letterbox`) is settled
 * from the event loop, so the error it rejects with is created with no JavaScript frame on the
 * stack: its `stack` is just `Error: message`, and V8's async stack traces cannot add the
 * caller either (no `await` chain leads back to it). As sharp does, the JS wrapper captures an
 * `Error` synchronously, before the native call, and on rejection the error's frames are
 * replaced with the caller's.
 *
 * @example
 * ```ts
 * const caller = new Error();                       // synchronously, in the public method
 * await withCallerStack(binding.work(args), caller); // a rejection now shows where work() was called
 * ```
 * @packageDocumentation
 * @internal
 */

/** Where the frames start in a V8 stack string (after the `Name: message` header). */
function framesOf(stack: string): string | undefined {
  const at = stack.search(/\n {4}at /);
  return at < 0 ? undefined : stack.slice(at);
}

/**
 * Replaces `error`'s stack frames with those captured in `caller`, keeping its own
 * `name: message` header. Anything that is not an object with a writable `stack`, or a
 * `caller` without frames, is left as it is.
 * @param error - the error to rewrite (typically a rejection from native async work)
 * @param caller - an `Error` created synchronously where the public API was called
 * @returns `error` itself
 * @example
 * ```ts
 * throw adoptCallerStack(MediaError.decodeFailed('…', nativeError), caller);
 * ```
 */
export function adoptCallerStack<E>(error: E, caller: Error): E {
  if (typeof error !== 'object' || error === null) return error;
  const frames = typeof caller.stack === 'string' ? framesOf(caller.stack) : undefined;
  if (frames === undefined) return error;
  const e = error as { name?: unknown; message?: unknown; stack?: unknown };
  try {
    const name = typeof e.name === 'string' && e.name ? e.name : 'Error';
    const message = typeof e.message === 'string' ? e.message : '';
    e.stack = `${message ? `${name}: ${message}` : name}${frames}`;
  } catch {
    // a frozen error or a throwing accessor: keep its own stack
  }
  return error;
}

/**
 * `p`, with a rejection's stack frames replaced by `caller`'s (see {@link adoptCallerStack}).
 * Create `caller` synchronously, in the same call that starts the native work, so it holds the
 * user's frames.
 * @param p - a promise from native async work
 * @param caller - an `Error` created where the public API was called
 * @returns a promise settling as `p` does
 * @example
 * ```ts
 * // packages/media/src/native-frame.ts, letterboxInto():
 * await withCallerStack(loadBinding().letterbox({ ... }), new Error());
 * ```
 */
export function withCallerStack<T>(p: Promise<T>, caller: Error): Promise<T> {
  return p.catch((e: unknown) => {
    throw adoptCallerStack(e, caller);
  });
}
