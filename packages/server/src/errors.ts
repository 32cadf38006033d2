/**
 * Every error the HTTP API answers with: a status and a JSON body `{ error: { code, message, fields? } }`.
 */
import { ConfigError, MediaError, RuntimeError, type ConfigIssue } from '@nv/core';

/** The typed codes of API errors (the `error.code` of every error body). */
export type ApiErrorCode =
  | 'InvalidJson' | 'InvalidFeed' | 'PolicyRefused' | 'Unauthorized' | 'NotFound' | 'FeedNotFound' | 'NoLiveView'
  | 'MethodNotAllowed' | 'AlreadyPaused' | 'NotPaused' | 'FeedStopped' | 'DuplicateName' | 'FeedLimitExceeded' | 'ViewerLimit'
  | 'BodyTooLarge' | 'UnsupportedMediaType' | 'ShuttingDown' | 'NotReady' | 'ClusterUnavailable' | 'Internal';

/** The body of every error answer. */
export interface ApiErrorBody {
  readonly error: {
    /** What went wrong, as a typed code. */
    readonly code: ApiErrorCode;
    /** One line for people. */
    readonly message: string;
    /** For `InvalidFeed`: each offending field (dotted path) and why. */
    readonly fields?: readonly ConfigIssue[];
  };
}

/** An API error: HTTP status, typed code, message (and fields). Thrown by route handlers. */
export class ApiError extends Error {
  /**
   * @param status - HTTP status (400, 401, 404, 409, 413, 415, 503, 500)
   * @param code - the typed code
   * @param message - one line
   * @param fields - offending fields, for `InvalidFeed`
   */
  constructor(readonly status: number, readonly code: ApiErrorCode, message: string, readonly fields?: readonly ConfigIssue[]) { super(message); }

  /** The JSON body. */
  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) } };
  }

  /**
   * Maps what `addFeed` and feed handles throw to an API error: config errors → 400 naming the
   * fields, refused by policy → 400, feed limit → 409, shutting down → 503, else 500.
   * @param e - anything thrown
   */
  static from(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    if (ConfigError.isInstance(e)) return new ApiError(400, 'InvalidFeed', e.message, e.issues.length ? e.issues : undefined);
    if (MediaError.isInstance(e)) {
      if (e.kind === 'CustomPipelineRejected' || e.kind === 'InsecureRtspRejected' || e.kind === 'PipelineInvalid') return new ApiError(400, 'PolicyRefused', e.message);
      return new ApiError(400, 'InvalidFeed', e.message);
    }
    if (RuntimeError.isInstance(e)) {
      switch (e.kind) {
        case 'FeedLimitExceeded': return new ApiError(409, 'FeedLimitExceeded', e.message);
        case 'ShutdownInProgress': return new ApiError(503, 'ShuttingDown', e.message);
        case 'FeedNotFound': return new ApiError(404, 'FeedNotFound', e.message);
        case 'AlreadyPaused': return new ApiError(409, 'AlreadyPaused', e.message);
        case 'NotPaused': return new ApiError(409, 'NotPaused', e.message);
        default: return new ApiError(500, 'Internal', e.message);
      }
    }
    return new ApiError(500, 'Internal', 'internal error');
  }
}
