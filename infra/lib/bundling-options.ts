// The esbuild options every Lambda bundle is built with. house-function.ts hands them to
// NodejsFunction and test/bench/bundles.ts hands them to esbuild directly, so the benchmark
// measures exactly what gets deployed.
import type { BuildOptions } from 'esbuild';

/** Node.js major of the Lambda runtime (DESIGN.md §5: Node 24 on arm64, as house-function.ts deploys). */
export const lambdaNodeTarget = 'node24';

/**
 * ESM output has no `require`; CommonJS dependencies that `require('node:…')` a builtin
 * (qrcode, parts of the AWS SDK) would throw "Dynamic require of … is not supported" without it.
 */
export const esmRequireBanner =
  "import { createRequire as __wgIngressCreateRequire } from 'node:module';" +
  'const require = __wgIngressCreateRequire(import.meta.url);';

/**
 * The AWS SDK v3 is bundled rather than taken from the runtime (or a layer): a minified,
 * tree-shaken bundle initialises faster than the runtime's unbundled copy (measured, see
 * layers/README.md) and pins the SDK version we test against.
 *
 * Left out are only the credential providers Lambda never reaches: the default chain tries the
 * environment first, Lambda always sets AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
 * AWS_SESSION_TOKEN, and the chain loads the others with a dynamic import() only when that fails.
 * They are a third of an SDK bundle (nested STS/SSO clients). test/infra checks that every
 * deployed bundle still loads with none of them resolvable.
 */
export const externalModules: string[] = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
];

/** `module` first so esbuild takes the SDK's ES builds, which tree-shake far better. */
export const mainFields = ['module', 'main'];

export const houseBundling = {
  format: 'esm' as const,
  target: lambdaNodeTarget,
  platform: 'node' as const,
  minify: true,
  sourceMap: true,
  /** File and line mapping without a copy of every source: a third of the .map to ship and parse. */
  sourcesContent: false,
  banner: esmRequireBanner,
  mainFields,
  externalModules,
};

/** The same options in esbuild's own API shape (for the bench and for ad-hoc builds). */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: houseBundling.format,
    target: houseBundling.target,
    platform: houseBundling.platform,
    minify: houseBundling.minify,
    sourcemap: houseBundling.sourceMap,
    sourcesContent: houseBundling.sourcesContent,
    banner: { js: houseBundling.banner },
    mainFields: houseBundling.mainFields,
    external: houseBundling.externalModules,
    logLevel: 'silent',
  };
}
