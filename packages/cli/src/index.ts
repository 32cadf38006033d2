/**
 * `@nv/cli`: the `nv` command (`nv run`, `nv probe`, `nv demo`) as a library, so it can be
 * embedded and tested.
 *
 * @packageDocumentation
 */
export { runCli, cliVersion } from './cli.js';
export type { CliOptions } from './cli.js';
export { runJob, printSummary, EXIT, JobError } from './job.js';
export type { Io, JobPlan, JobResult } from './job.js';
export { runServe } from './serve.js';
export type { ServeOptions } from './serve.js';
export { runDemo } from './demo.js';
export type { DemoOptions } from './demo.js';
export { JobConfigSchema, JobFeedSchema, loadJobConfig, loadZonesFile } from './config-file.js';
export type { JobConfig } from './config-file.js';
export { outputToJson } from './jsonl.js';
export { sourceFromArg, sourceInputFromArg } from './sources.js';
export type { SourceArgInput } from './sources.js';
export { renderStatus, feedStateText, nextSourceLink, CONNECTED } from './status.js';
export type { FeedStatus, SourceLink, RenderStatusOptions } from './status.js';
export { terminalIo } from './terminal.js';
export type { TextSink } from './terminal.js';
export { AnnotateStage, FrameLimitStage } from './stages.js';
