/**
 * Layering rules for the nv workspace (see ARCHITECTURE.md, "Packages and layering").
 * `npm test` runs `depcruise packages` with this file; any violation fails the tests.
 *
 * ALLOWED lists, for each package, the workspace packages it may import. Everything else
 * under packages/ is forbidden to it. Keep this table, ARCHITECTURE.md and each package's
 * package.json dependencies in agreement.
 */
const ALLOWED = {
  core: [],
  frame: ['core'],
  view: ['core'],
  perception: ['core', 'frame', 'view'],
  temporal: ['core', 'perception', 'view'],
  pipeline: ['core', 'frame', 'perception', 'view', 'temporal'],
  'test-util': ['core', 'frame', 'perception', 'view', 'temporal', 'pipeline'],
  media: ['core', 'frame'],
  runtime: ['core', 'frame', 'media', 'perception', 'view', 'temporal', 'pipeline'],
  metrics: ['core', 'runtime'],
  server: ['core', 'frame', 'media', 'metrics', 'perception', 'runtime'],
  tracking: ['core', 'perception'],
  analytics: ['core', 'frame', 'media', 'perception', 'view'],
  sync: ['core'],
  sinks: ['core', 'runtime'],
  inference: ['core'],
  remote: ['core', 'inference', 'onnx'],
  cluster: ['core'],
  onnx: ['core', 'frame', 'inference', 'perception'],
  ocr: ['core', 'frame', 'inference', 'perception'],
  cli: ['analytics', 'cluster', 'core', 'frame', 'inference', 'media', 'metrics', 'ocr', 'onnx', 'perception', 'remote', 'runtime', 'server', 'sinks', 'sync', 'test-util', 'tracking'],
};

const layerRules = Object.entries(ALLOWED).map(([pkg, allowed]) => ({
  name: `layering-${pkg}`,
  comment: `@nv/${pkg} may import only: ${allowed.length ? allowed.map((a) => '@nv/' + a).join(', ') : 'no other nv package'}`,
  severity: 'error',
  from: { path: `^packages/${pkg}/`, pathNot: '\\.test\\.ts$' },
  to: { path: `^packages/(?!(?:${[pkg, ...allowed].join('|')})/)[^/]+/` },
}));

// Tests may additionally use @nv/test-util (never the other way round: sources may not), and
// the integration tests of perception packages may drive the real runtime and media.
const TEST_EXTRA = {
  tracking: ['frame'],
  onnx: ['media', 'runtime'],
  ocr: ['media', 'runtime', 'tracking', 'onnx'],
  metrics: ['frame', 'perception'],
  analytics: ['runtime', 'tracking'],
  sync: ['runtime', 'frame'],
  sinks: ['frame', 'perception'],
  remote: ['frame', 'media', 'perception', 'runtime'],
};
const testLayerRules = Object.entries(ALLOWED).map(([pkg, allowed]) => ({
  name: `layering-${pkg}-tests`,
  comment: `tests of @nv/${pkg} may import its allowed packages, @nv/test-util and its TEST_EXTRA packages`,
  severity: 'error',
  from: { path: `^packages/${pkg}/.*\\.test\\.ts$` },
  to: { path: `^packages/(?!(?:${[...new Set([pkg, ...allowed, ...(TEST_EXTRA[pkg] ?? []), 'test-util'])].join('|')})/)[^/]+/` },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    ...testLayerRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, within or across packages.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-cross-package-relative-import',
      severity: 'error',
      comment: 'Import other packages by name (@nv/x), never by relative path into their sources.',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/([^/]+)/', pathNot: '^packages/$1/', dependencyTypes: ['local'] },
    },
    {
      name: 'opentelemetry-only-in-metrics',
      severity: 'error',
      comment: 'OpenTelemetry never appears outside @nv/metrics.',
      from: { path: '^packages/', pathNot: '^packages/metrics/' },
      to: { path: '@opentelemetry/' },
    },
    {
      name: 'native-addon-only-in-media',
      severity: 'error',
      comment: 'Only @nv/media loads the native addon.',
      from: { path: '^packages/', pathNot: '^packages/media/' },
      to: { path: '(^native/|\\.node$)' },
    },
    {
      name: 'not-to-undeclared',
      severity: 'error',
      comment: 'Every imported package must be declared in the importing package.json.',
      from: { path: '^packages/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-deps-in-sources',
      severity: 'error',
      comment: 'Production code may not import devDependencies.',
      from: { path: '^packages/[^/]+/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@nv/source', 'import', 'types', 'default'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
