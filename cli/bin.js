#!/usr/bin/env node
// The `amtflow` bin (package.json): runs cli/main.ts through tsx, as `npm run cli` does.
require('tsx/cjs');
require('./main.ts');
