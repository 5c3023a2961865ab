#!/usr/bin/env node
// The `twinmcp` bin; the build bundles it to dist/server/cli.js.
import { main } from './cli/main.js';

process.exitCode = await main(process.argv.slice(2));
