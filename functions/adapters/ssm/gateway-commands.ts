// GatewayCommandSender over SSM Run Command. The client and the document names are injected: no
// process.env here. Parameters are checked again against the documents' patterns before sending.
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  SendCommandCommand,
  SSMClient,
  type GetCommandInvocationCommandOutput,
} from '@aws-sdk/client-ssm';
import {
  validateCommandParameters,
  type CommandParameters,
  type CommandResult,
  type DocumentKind,
} from '../../domain/gateway-commands.js';
import type { GatewayCommandSender } from '../../app/ports.js';
import { translateSdkErrors, throttlingAs } from '../sdk-errors.js';
import { ThrottledError, ValidationError } from '../../domain/errors.js';
import { INSTANCE_ID } from '../../domain/grammar.js';

export interface SsmGatewayCommandsOptions {
  initDocumentName: string;
  applyDocumentName: string;
  teardownDocumentName: string;
  /** How long SSM tries to deliver a command to an instance that is not connected (SSM minimum: 30). */
  deliveryTimeoutSeconds?: number;
}

const DEFAULT_DELIVERY_TIMEOUT_SECONDS = 600;
const MAX_REASON_CHARS = 500;

const tail = (text: string | undefined): string => {
  const t = (text ?? '').trim();
  return t.length > MAX_REASON_CHARS ? '…' + t.slice(-MAX_REASON_CHARS) : t;
};

/** Create once per process and inject it; SendCommand throttling after the SDK's retries is a domain error. */
export function createSsmClient(options: { region: string; instrument?: (client: SSMClient) => SSMClient }): SSMClient {
  const client = new SSMClient({ region: options.region });
  translateSdkErrors(client, throttlingAs(['ThrottlingException'], () => new ThrottledError()));
  return options.instrument ? options.instrument(client) : client;
}

export class SsmGatewayCommands implements GatewayCommandSender {
  constructor(
    private readonly ssm: SSMClient,
    private readonly options: SsmGatewayCommandsOptions,
  ) {}

  sendInit(instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    return this.send('init', instanceId, params);
  }

  sendApply(instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    return this.send('apply', instanceId, params);
  }

  sendTeardown(instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    return this.send('teardown', instanceId, params);
  }

  private async send(kind: DocumentKind, instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    if (!INSTANCE_ID.test(instanceId)) throw new ValidationError('instanceId', 'instanceId is not an EC2 instance id');
    validateCommandParameters(kind, params);
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: { init: this.options.initDocumentName, apply: this.options.applyDocumentName, teardown: this.options.teardownDocumentName }[kind],
        InstanceIds: [instanceId],
        Parameters: params,
        TimeoutSeconds: this.options.deliveryTimeoutSeconds ?? DEFAULT_DELIVERY_TIMEOUT_SECONDS,
        Comment:
          kind === 'apply' ? `wg-ingress: apply generation ${params.generation?.[0]}` : `wg-ingress: ${kind} gateway`,
        // Output goes only to GetCommandInvocation (24,000 characters, plenty for these scripts).
        CloudWatchOutputConfig: { CloudWatchOutputEnabled: false },
      }),
    );
    const commandId = out.Command?.CommandId;
    if (!commandId) throw new Error('SendCommand answered without a command id');
    return { commandId };
  }

  async getResult(commandId: string, instanceId: string): Promise<CommandResult> {
    let out: GetCommandInvocationCommandOutput;
    try {
      out = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    } catch (err) {
      // Right after SendCommand the invocation is not registered yet: that is "not yet", not an error.
      if (err instanceof InvocationDoesNotExist || (err as { name?: string }).name === 'InvocationDoesNotExist') {
        return { status: 'pending', reason: 'InvocationDoesNotExist' };
      }
      throw err;
    }
    const stdout = out.StandardOutputContent ?? '';
    const details = out.StatusDetails ?? out.Status ?? 'Unknown';
    switch (out.Status) {
      case 'Pending':
      case 'InProgress':
      case 'Delayed':
      case 'Cancelling':
        return { status: 'pending', reason: details };
      case 'Success':
        return { status: 'success', stdout };
      case 'TimedOut':
        // StatusDetails says which: DeliveryTimedOut (instance offline) or ExecutionTimedOut.
        return { status: 'timed_out', stdout, reason: details };
      case 'Cancelled':
        return { status: 'failed', stdout, reason: 'Cancelled' };
      case 'Failed': {
        const code = out.ResponseCode !== undefined && out.ResponseCode >= 0 ? `: exit code ${out.ResponseCode}` : '';
        const stderr = tail(out.StandardErrorContent);
        return { status: 'failed', stdout, reason: `${details}${code}${stderr ? `: ${stderr}` : ''}` };
      }
      default:
        return { status: 'failed', stdout, reason: `unexpected status ${String(out.Status)} (${details})` };
    }
  }
}
