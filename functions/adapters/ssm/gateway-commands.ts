// GatewayCommandSender over SSM Run Command. The client and the document names are injected: no
// process.env here. Parameters are checked again against the documents' patterns before sending.
import {
  DescribeInstanceInformationCommand,
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
import type { GatewayCommandSender, GatewayReporter } from '../../app/ports.js';
import type { AgentState } from '../../domain/gateway-report.js';
import { translateSdkErrors, throttlingAs } from '../sdk-errors.js';
import { ThrottledError, ValidationError } from '../../domain/errors.js';
import { INSTANCE_ID } from '../../domain/grammar.js';

export interface SsmGatewayCommandsOptions {
  initDocumentName: string;
  applyDocumentName: string;
  teardownDocumentName: string;
  reportDocumentName: string;
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

/** A report the next run does not read any more need not be delivered later (SSM's minimum). */
const REPORT_DELIVERY_TIMEOUT_SECONDS = 30;

const PING_STATUS: Record<string, AgentState> = { Online: 'online', ConnectionLost: 'connection_lost', Inactive: 'inactive' };

export class SsmGatewayCommands implements GatewayCommandSender, GatewayReporter {
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

  /** One command (SSM takes up to 50 instances; report runs send one each); the agent writes each one's output to the bucket (the API keeps 24,000 characters only). */
  async sendReport(instanceIds: string[], params: CommandParameters, output: { bucket: string; keyPrefix: string }): Promise<{ commandId: string }> {
    if (instanceIds.length < 1 || instanceIds.length > 50) throw new ValidationError('instanceIds', 'a report goes to 1 to 50 instances');
    for (const id of instanceIds) if (!INSTANCE_ID.test(id)) throw new ValidationError('instanceId', 'instanceId is not an EC2 instance id');
    validateCommandParameters('report', params);
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: this.options.reportDocumentName,
        InstanceIds: instanceIds,
        Parameters: params,
        TimeoutSeconds: REPORT_DELIVERY_TIMEOUT_SECONDS,
        Comment: 'wg-ingress: report status',
        OutputS3BucketName: output.bucket,
        OutputS3KeyPrefix: output.keyPrefix,
        CloudWatchOutputConfig: { CloudWatchOutputEnabled: false },
      }),
    );
    const commandId = out.Command?.CommandId;
    if (!commandId) throw new Error('SendCommand answered without a command id');
    return { commandId };
  }

  async agentStates(instanceIds: string[]): Promise<Map<string, AgentState>> {
    const states = new Map<string, AgentState>(instanceIds.map((id) => [id, 'unknown']));
    if (instanceIds.length === 0) return states;
    let token: string | undefined;
    do {
      const out = await this.ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: instanceIds }], MaxResults: 50, NextToken: token }),
      );
      for (const info of out.InstanceInformationList ?? []) {
        if (info.InstanceId && states.has(info.InstanceId)) states.set(info.InstanceId, PING_STATUS[info.PingStatus ?? ''] ?? 'unknown');
      }
      token = out.NextToken;
    } while (token);
    return states;
  }

  private async send(kind: DocumentKind, instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    if (!INSTANCE_ID.test(instanceId)) throw new ValidationError('instanceId', 'instanceId is not an EC2 instance id');
    validateCommandParameters(kind, params);
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: { init: this.options.initDocumentName, apply: this.options.applyDocumentName, teardown: this.options.teardownDocumentName, report: this.options.reportDocumentName }[kind],
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
