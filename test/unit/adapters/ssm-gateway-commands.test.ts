import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  SendCommandCommand,
  SSMClient,
  type GetCommandInvocationCommandOutput,
} from '@aws-sdk/client-ssm';
import { SsmGatewayCommands } from '../../../functions/adapters/ssm/gateway-commands.js';
import { buildApplyParameters, buildInitParameters, buildReportParameters, buildTeardownParameters } from '../../../functions/domain/gateway-commands.js';
import { ValidationError } from '../../../functions/domain/errors.js';

const ssmMock = mockClient(SSMClient);
const INSTANCE = 'i-0123456789abcdef0';
const sender = new SsmGatewayCommands(new SSMClient({ region: 'eu-west-1' }), {
  initDocumentName: 'WgIngress-Init',
  applyDocumentName: 'WgIngress-Apply', teardownDocumentName: 'wg-ingress-teardown', reportDocumentName: 'WgIngress-Report',
  deliveryTimeoutSeconds: 300,
});
const initParams = buildInitParameters(
  { interfaceName: 'wg0', listenPort: 51820, address: '10.100.0.1', routedRanges: ['172.31.0.0/16'], fullTunnel: false },
  { addressRange: '10.100.0.0/24' },
);
const applyParams = buildApplyParameters({
  interfaceName: 'wg0',
  generation: 42,
  peerSetBucket: 'wg-ingress-data-bucket',
  peerSetKey: 'peer-sets/office/gw-0123456789/42-0123456789abcdef.conf',
  peerSetSha256: 'a'.repeat(64),
});

function invocation(out: Partial<GetCommandInvocationCommandOutput>): void {
  ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: INSTANCE }).resolves(out);
}

describe('SSM gateway commands', () => {
  beforeEach(() => ssmMock.reset());

  it('sends one report to up to 50 instances, its output to the bucket under the run prefix, delivered within 30 s or never', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-r' } });
    const ids = [INSTANCE, 'i-0123456789abcdef1'];
    const params = buildReportParameters({ stateDir: '/var/lib/wg' });
    assert.deepEqual(await sender.sendReport(ids, params, { bucket: 'wg-ingress-data-bucket', keyPrefix: 'reports/20261202T000000000Z-0a0b0c0d' }), { commandId: 'cmd-r' });
    assert.deepEqual(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input, {
      DocumentName: 'WgIngress-Report',
      InstanceIds: ids,
      Parameters: { stateDir: ['/var/lib/wg'] },
      TimeoutSeconds: 30,
      Comment: 'wg-ingress: report status',
      OutputS3BucketName: 'wg-ingress-data-bucket',
      OutputS3KeyPrefix: 'reports/20261202T000000000Z-0a0b0c0d',
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: false },
    });
    const many = Array.from({ length: 51 }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
    await assert.rejects(sender.sendReport(many, params, { bucket: 'b', keyPrefix: 'reports/x' }), ValidationError);
    await assert.rejects(sender.sendReport(['i-nope'], params, { bucket: 'b', keyPrefix: 'reports/x' }), ValidationError);
    await assert.rejects(sender.sendReport([INSTANCE], { stateDir: ["/x'; rm -rf /"] }, { bucket: 'b', keyPrefix: 'reports/x' }), ValidationError);
    assert.equal(ssmMock.commandCalls(SendCommandCommand).length, 1);
  });

  it("maps DescribeInstanceInformation's ping status to the agent state, unknown for an instance SSM does not list", async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolvesOnce({
      InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online' }],
      NextToken: 'page-2',
    }).resolvesOnce({
      InstanceInformationList: [{ InstanceId: 'i-0123456789abcdef1', PingStatus: 'ConnectionLost' }, { InstanceId: 'i-0123456789abcdef2', PingStatus: 'Inactive' }],
    });
    const ids = [INSTANCE, 'i-0123456789abcdef1', 'i-0123456789abcdef2', 'i-0123456789abcdef3'];
    const states = await sender.agentStates(ids);
    assert.deepEqual(Object.fromEntries(states), {
      [INSTANCE]: 'online',
      'i-0123456789abcdef1': 'connection_lost',
      'i-0123456789abcdef2': 'inactive',
      'i-0123456789abcdef3': 'unknown',
    });
    const calls = ssmMock.commandCalls(DescribeInstanceInformationCommand);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0]!.args[0].input.Filters, [{ Key: 'InstanceIds', Values: ids }]);
    assert.equal(calls[1]!.args[0].input.NextToken, 'page-2');
  });

  it('sends init with the init document, the parameters, a delivery timeout, no CloudWatch output', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    assert.deepEqual(await sender.sendInit(INSTANCE, initParams), { commandId: 'cmd-1' });
    const calls = ssmMock.commandCalls(SendCommandCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.args[0].input, {
      DocumentName: 'WgIngress-Init',
      InstanceIds: [INSTANCE],
      Parameters: initParams,
      TimeoutSeconds: 300,
      Comment: 'wg-ingress: init gateway',
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: false },
    });
  });

  it('sends apply with the apply document and the generation in the comment', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    assert.deepEqual(await sender.sendApply(INSTANCE, applyParams), { commandId: 'cmd-2' });
    const input = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    assert.equal(input.DocumentName, 'WgIngress-Apply');
    assert.deepEqual(input.Parameters, applyParams);
    assert.equal(input.Comment, 'wg-ingress: apply generation 42');
    assert.deepEqual(input.CloudWatchOutputConfig, { CloudWatchOutputEnabled: false });
  });

  it('sends teardown with the teardown document', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-3' } });
    const params = buildTeardownParameters({ interfaceName: 'wgi-abc' });
    assert.deepEqual(await sender.sendTeardown(INSTANCE, params), { commandId: 'cmd-3' });
    const input = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    assert.equal(input.DocumentName, 'wg-ingress-teardown');
    assert.deepEqual(input.Parameters, { interfaceName: ['wgi-abc'] });
    assert.equal(input.Comment, 'wg-ingress: teardown gateway');
    await assert.rejects(sender.sendTeardown(INSTANCE, { interfaceName: ['wg0; rm -rf /'] }), /interfaceName/);
  });

  it('refuses a hostile parameter or instance id without calling SSM', async () => {
    await assert.rejects(
      sender.sendApply(INSTANCE, { ...applyParams, peerSetKey: ['peer-sets/x;reboot'] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'peerSetKey',
    );
    // The old bearer URL is no parameter of the apply document at all.
    await assert.rejects(
      sender.sendApply(INSTANCE, { ...applyParams, peerSetUrl: ['https://b.s3.amazonaws.com/k?X-Amz-Signature=ab'] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'peerSetUrl',
    );
    await assert.rejects(
      sender.sendInit(INSTANCE, { ...initParams, interfaceName: ["wg0'"] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'interfaceName',
    );
    await assert.rejects(
      sender.sendInit(INSTANCE, { ...initParams, extra: ['x'] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'extra',
    );
    await assert.rejects(
      sender.sendInit('i-123; reboot', initParams),
      (e: unknown) => e instanceof ValidationError && e.field === 'instanceId',
    );
    assert.equal(ssmMock.commandCalls(SendCommandCommand).length, 0);
  });

  it('passes SSM errors on sending through', async () => {
    ssmMock.on(SendCommandCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await assert.rejects(sender.sendInit(INSTANCE, initParams), /throttled/);
  });

  it('asks for the invocation of exactly that command on exactly that instance', async () => {
    invocation({ Status: 'Success', StandardOutputContent: 'ok\n' });
    await sender.getResult('cmd-1', INSTANCE);
    assert.deepEqual(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input, {
      CommandId: 'cmd-1',
      InstanceId: INSTANCE,
    });
  });

  it('treats InvocationDoesNotExist right after sending as pending', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(new InvocationDoesNotExist({ message: 'no invocation', $metadata: {} }));
    assert.deepEqual(await sender.getResult('cmd-1', INSTANCE), { status: 'pending', reason: 'InvocationDoesNotExist' });
  });

  it('passes other errors of GetCommandInvocation through', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await assert.rejects(sender.getResult('cmd-1', INSTANCE), /denied/);
  });

  for (const Status of ['Pending', 'InProgress', 'Delayed', 'Cancelling'] as const) {
    it(`reports ${Status} as pending`, async () => {
      invocation({ Status, StatusDetails: Status });
      assert.equal((await sender.getResult('cmd-1', INSTANCE)).status, 'pending');
    });
  }

  it('reports Success with the standard output', async () => {
    invocation({ Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, StandardOutputContent: 'WG_INGRESS_INIT_OK\n' });
    assert.deepEqual(await sender.getResult('cmd-1', INSTANCE), { status: 'success', stdout: 'WG_INGRESS_INIT_OK\n' });
  });

  it('reports DeliveryTimedOut (instance offline) as timed out', async () => {
    invocation({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', ResponseCode: -1 });
    assert.deepEqual(await sender.getResult('cmd-1', INSTANCE), { status: 'timed_out', stdout: '', reason: 'DeliveryTimedOut' });
  });

  it('reports ExecutionTimedOut as timed out', async () => {
    invocation({ Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut', ResponseCode: 124, StandardOutputContent: 'partial' });
    assert.deepEqual(await sender.getResult('cmd-1', INSTANCE), { status: 'timed_out', stdout: 'partial', reason: 'ExecutionTimedOut' });
  });

  it('reports Failed with the exit code and the end of stderr', async () => {
    invocation({
      Status: 'Failed',
      StatusDetails: 'Failed',
      ResponseCode: 3,
      StandardOutputContent: '',
      StandardErrorContent: 'x'.repeat(2000) + '\nWG_INGRESS_APPLY_FAILED generation=42 reason=digest_mismatch\n',
    });
    const r = await sender.getResult('cmd-1', INSTANCE);
    assert.equal(r.status, 'failed');
    assert.match(r.reason!, /^Failed: exit code 3: …x+\nWG_INGRESS_APPLY_FAILED generation=42 reason=digest_mismatch$/);
    assert.ok(r.reason!.length < 600);
  });

  it('reports Undeliverable (a Failed status) as failed with its detail', async () => {
    invocation({ Status: 'Failed', StatusDetails: 'Undeliverable', ResponseCode: -1 });
    assert.deepEqual(await sender.getResult('cmd-1', INSTANCE), { status: 'failed', stdout: '', reason: 'Undeliverable' });
  });

  it('reports Cancelled as failed', async () => {
    invocation({ Status: 'Cancelled', StatusDetails: 'Cancelled' });
    assert.deepEqual(await sender.getResult('cmd-1', INSTANCE), { status: 'failed', stdout: '', reason: 'Cancelled' });
  });
});
