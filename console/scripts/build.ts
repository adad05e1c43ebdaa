// `npm run build`: the console's API types from today's contract, then its static build into
// console/dist. `--if-missing` (npm start's prestart) builds only when there is no build yet, so
// `npm install && npm start` on a fresh clone serves a console.
import { existsSync } from 'node:fs';
import { consoleDist, buildConsole } from './build-console.js';

if (process.argv.includes('--if-missing') && existsSync(`${consoleDist}/index.html`)) process.exit(0);
buildConsole();
