// Lambda entry: the download-page function, wired by the composition root from the environment.
import { downloadDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { downloadPageHandler } from '../http/routes/download-page.js';

const config = loadConfig(process.env);

export const handler = downloadPageHandler(downloadDeps(config), httpOptions(config));
