// Lambda entry: /health and /openapi.json.
import { httpOptions } from '../compose.js';
import { loadConfig } from '../config.js';
import { publicHandler } from '../http/routes/public.js';

const config = loadConfig(process.env);

export const handler = publicHandler({ publicBaseUrl: config.PUBLIC_BASE_URL }, httpOptions(config));
