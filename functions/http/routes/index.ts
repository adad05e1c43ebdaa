// Every function's handler factory by name, for local mode, which serves all of them in one
// process with one set of dependencies (a Lambda entry imports only its own factory).
import type { FunctionName } from '../../contract/route-table.js';
import { auditHandler } from './audit.js';
import { clientDownloadsHandler } from './client-downloads.js';
import { clientsHandler } from './clients.js';
import { downloadPageHandler } from './download-page.js';
import { gatewaysHandler } from './gateways.js';
import { networksHandler } from './networks.js';
import { publicHandler } from './public.js';

export const handlerFactories = {
  networks: networksHandler,
  gateways: gatewaysHandler,
  clients: clientsHandler,
  'client-downloads': clientDownloadsHandler,
  'download-page': downloadPageHandler,
  audit: auditHandler,
  public: publicHandler,
} satisfies Record<FunctionName, unknown>;
