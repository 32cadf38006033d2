// `npm run demo` will run the main job (an embedded video through detection, tracking and
// OCR, with annotated output) once the CLI/demo issue lands. Until then it says so and
// fails, rather than pretending.
console.error(
  'nv demo: not available yet. The demo lands with the CLI/demo issue (#6); ' +
    'today nv ships its TypeScript layers, the GStreamer media layer (@nv/media) and a first runtime (@nv/runtime), ' +
    'exercised by `npm test`.',
);
process.exit(1);
