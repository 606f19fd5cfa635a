#!/usr/bin/env node
// Launcher: registers tsx so the TypeScript sources run directly (Node 20 cannot strip types itself).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
