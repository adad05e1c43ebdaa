// A ready-to-register ingress gateway for trying the stack out: register its instance id and the
// Elastic IP as endpoint through POST /networks/{network}/gateways.
import { CfnOutput, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { GatewayTag } from './stateless.js';

export interface ExampleGatewayProps {
  readonly gatewayTag: GatewayTag;
  /** What a gateway's role needs to read its peer sets (WgIngress.gatewayPolicy). */
  readonly gatewayPolicy: iam.IManagedPolicy;
  /** WireGuard's UDP listen port; the only port open inbound. */
  readonly listenPort?: number;
  /** Defaults to a new one-AZ VPC with a public subnet and no NAT gateway. */
  readonly vpc?: ec2.IVpc;
  readonly instanceType?: ec2.InstanceType;
}

export class ExampleGateway extends Construct {
  readonly instance: ec2.Instance;
  readonly elasticIp: ec2.CfnEIP;
  readonly listenPort: number;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ExampleGatewayProps) {
    super(scope, id);
    this.listenPort = props.listenPort ?? 51820;

    const vpc =
      props.vpc ??
      new ec2.Vpc(this, 'Vpc', {
        maxAzs: 1,
        natGateways: 0,
        subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
        restrictDefaultSecurityGroup: false,
      });
    if (!props.vpc) {
      (vpc as ec2.Vpc).addFlowLog('FlowLog', {
        destination: ec2.FlowLogDestination.toCloudWatchLogs(
          new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_WEEK }),
        ),
        trafficType: ec2.FlowLogTrafficType.REJECT,
      });
    }

    const securityGroup = (this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'wg-ingress example gateway: WireGuard only',
      // The gateway forwards client traffic out to the network and the internet (NAT).
      allowAllOutbound: true,
    }));
    securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.udp(this.listenPort), 'WireGuard');

    const role = (this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'wg-ingress example gateway: SSM managed instance that reads its peer sets',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'), props.gatewayPolicy],
    }));

    this.instance = new ec2.Instance(this, 'Instance', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceType: props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      securityGroup,
      role,
      // IMDSv2 only (what requireImdsv2 sets, which CDK does not combine with other metadata
      // options), and its token answer goes no further than one hop: a container, or anything
      // forwarded through the gateway (a client that got past the firewall), cannot use it.
      httpTokens: ec2.HttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });
    Tags.of(this.instance).add(props.gatewayTag.key, props.gatewayTag.value);

    this.elasticIp = new ec2.CfnEIP(this, 'ElasticIp', { domain: 'vpc', instanceId: this.instance.instanceId });

    new CfnOutput(this, 'InstanceId', { value: this.instance.instanceId, description: 'Example gateway instance id' });
    new CfnOutput(this, 'Endpoint', {
      value: `${this.elasticIp.ref}:${this.listenPort}`,
      description: 'Example gateway endpoint for POST /networks/{network}/gateways',
    });
  }
}
