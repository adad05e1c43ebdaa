// Lambda entry: /health and /openapi.json.
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { publicHandler } from '../http/routes/public.js';

const config = loadConfig(process.env);

export const handler = publicHandler({ publicBaseUrl: config.PUBLIC_BASE_URL }, httpOptions(config));
