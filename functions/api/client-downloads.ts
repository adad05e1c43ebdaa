// Lambda entry: the client-downloads function, wired by the composition root from the environment.
import { downloadDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { clientDownloadsHandler } from '../http/routes/client-downloads.js';

const config = loadConfig(process.env);

export const handler = clientDownloadsHandler(downloadDeps(config), httpOptions(config));
