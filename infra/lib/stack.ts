// The stack `npx cdk deploy` creates: a thin shell around the WgIngress construct.
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { WgIngress, type WgIngressProps } from './wg-ingress.js';

export interface WgIngressStackProps extends StackProps {
  readonly wgIngress: Omit<WgIngressProps, 'userPool' | 'userPoolClient'>;
  /** Import an existing user pool instead of creating one; it must hold the admin and viewer groups. */
  readonly userPoolId?: string;
  /** With `userPoolId`: an existing app client of that pool (else one is added to the pool). */
  readonly userPoolClientId?: string;
}

export class WgIngressStack extends Stack {
  readonly wgIngress: WgIngress;

  constructor(scope: Construct, id: string, props: WgIngressStackProps) {
    super(scope, id, props);
    const userPool = props.userPoolId
      ? cognito.UserPool.fromUserPoolId(this, 'ImportedUserPool', props.userPoolId)
      : undefined;
    const userPoolClient =
      props.userPoolClientId && userPool
        ? cognito.UserPoolClient.fromUserPoolClientId(this, 'ImportedUserPoolClient', props.userPoolClientId)
        : undefined;
    this.wgIngress = new WgIngress(this, 'WgIngress', { ...props.wgIngress, userPool, userPoolClient });
  }
}
