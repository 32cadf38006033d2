#!/usr/bin/env node
'use strict';
// `npx nv-native-build`: builds @nv/native from source now (after the same dependency check as install).
process.exitCode = require('./install.cjs').main({ force: true });
