// Lambda entry: the audit log's reader, wired by the composition root from the environment.
import { auditDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { auditHandler } from '../http/routes/audit.js';

const config = loadConfig(process.env);

export const handler = auditHandler(auditDeps(config), httpOptions(config));
