// The layers of functions/ (DESIGN.md §5), checked in CI by `npm run lint:deps`:
//
//   domain/ (pure)  <-  app/ (use cases, ports)  <-  adapters/ (AWS)   and   contract/, http/
//   entries (api/, worker/) and the one composition root (compose/) wire them together.
//
// Paths are relative to the repository root; npm packages resolve to node_modules/…, node
// builtins are of dependency type "core". test/unit/lint-deps.test.ts plants a violation of
// each rule and checks that it is caught.

/** SDKs and middleware that belong in adapters, http and entries, never in domain or app. */
const anyNpmButAwsAndMiddleware = '^node_modules/(?!(?:@aws-sdk|@aws-lambda-powertools|@middy)/)';
const anyNpm = '^node_modules/';

/** Modules allowed to import adapters: entries, the composition root, local mode, tests. */
const adapterWirers = ['^functions/(?:api|worker)/', '^functions/compose/', '^infra/local/', '^test/'];

/**
 * A layer that may import only `allowed` (and node builtins). Unresolved imports are left to
 * not-to-unresolvable, so each is reported once.
 */
function layer(name, comment, from, allowed) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from },
    to: { pathNot: allowed, dependencyTypesNot: ['core'], couldNotResolve: false },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    layer(
      'domain-is-pure',
      'functions/domain/ is pure: it imports only functions/domain/, node builtins and npm packages other than the AWS SDK, Powertools and middy.',
      '^functions/domain/',
      ['^functions/domain/', anyNpmButAwsAndMiddleware],
    ),
    layer(
      'app-imports-only-domain',
      'functions/app/ (use cases and their ports) imports only functions/domain/ and functions/app/: no adapters, http, contract, entries, compose, config or observability, and no AWS SDK, Powertools or middy. Dependencies arrive as `deps`.',
      '^functions/app/',
      ['^functions/(?:domain|app)/', anyNpmButAwsAndMiddleware],
    ),
    layer(
      'adapters-implement-ports',
      'functions/adapters/ implement the ports of functions/app/ports.ts: they import that file, functions/domain/, other adapters and npm packages; never use cases, http, contract, config or entries.',
      '^functions/adapters/',
      ['^functions/app/ports\\.ts$', '^functions/(?:domain|adapters)/', anyNpm],
    ),
    layer(
      'contract-imports-only-domain',
      'functions/contract/ (route table, API schemas) imports only functions/domain/, functions/contract/ and npm packages.',
      '^functions/contract/',
      ['^functions/(?:domain|contract)/', anyNpm],
    ),
    layer(
      'http-never-reaches-adapters',
      'functions/http/ (the one middy stack) imports app, domain, contract, http, observability.ts, config.ts and npm packages; never adapters, nor compose/ or an entry, through which it would reach them.',
      '^functions/http/',
      ['^functions/(?:app|domain|contract|http)/', '^functions/(?:observability|config)\\.ts$', anyNpm],
    ),
    {
      name: 'only-entries-wire-adapters',
      comment:
        'Only entries (functions/api/, functions/worker/), the composition root functions/compose/, local mode (infra/local/) and tests import functions/adapters/.',
      severity: 'error',
      from: { pathNot: ['^functions/adapters/', ...adapterWirers] },
      to: { path: '^functions/adapters/' },
    },
    {
      name: 'functions-never-import-infra',
      comment: 'Lambda code does not depend on the CDK app or local mode: infra/ imports functions/, never the other way round.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^infra/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles in functions/ or infra/ (type-only imports included): a cycle means two modules are one, or a port is missing.',
      severity: 'error',
      from: { path: '^(?:functions|infra)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import in our code that resolves to no file: a moved or misspelled module, or a package that is not installed.',
      severity: 'error',
      from: { path: '^(?:functions|infra|test)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // npm packages keep their node_modules/… paths even when node_modules is a symlink (a git
    // worktree sharing another checkout's install), so the rules' `^node_modules/` still applies.
    preserveSymlinks: true,
    doNotFollow: { path: 'node_modules' },
    // Worktrees may share one node_modules through a symlink: keep its path, not the target's.
    preserveSymlinks: true,
    exclude: { path: ['^cdk\\.out/', '^\\.local-data/'] },
    // Type-only imports count: ports are interfaces, and an adapter that imports a use case's
    // type still depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // ESM sources import `./x.js`; the file on disk is `x.ts` (resolved with the tsconfig).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
