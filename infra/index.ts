// For teams that embed the control plane in their own CDK app:
//   new WgIngress(this, 'WgIngress', { frontendOrigin: 'https://admin.example.com' })
export { WgIngress, defaultGatewayTag, type WgIngressProps } from './lib/wg-ingress.js';
export { WgIngressStack, type WgIngressStackProps } from './lib/stack.js';
export { WgIngressData, bucketPrefixes, type WgIngressDataProps } from './lib/stateful.js';
export { WgIngressApi, functionNeeds, type GatewayTag, type WgIngressApiProps } from './lib/stateless.js';
export { ExampleGateway, type ExampleGatewayProps } from './lib/example-gateway.js';
export { HouseFunction, type HouseFunctionProps, type TableAccess, type TableGrant } from './lib/house-function.js';
export { guardSuppressionReasons, type GuardRule } from './lib/guard-suppressions.js';
export { devFrontendOrigin, frontendOriginFrom } from './lib/frontend-origin.js';
