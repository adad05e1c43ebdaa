// Every SDK client of the adapters gets this: its answers are translated to domain errors after
// the SDK's own retries (the retry step runs inside the initialize step), so no store can forget.
interface WithMiddleware {
  middlewareStack: {
    add(
      middleware: (next: (args: never) => Promise<unknown>) => (args: never) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

export function translateSdkErrors(client: WithMiddleware, translate: (err: unknown) => unknown): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        throw translate(err);
      }
    },
    { step: 'initialize', name: 'wgIngressDomainErrors' },
  );
}

/** For services whose only error worth a domain name is throttling (S3's SlowDown, SSM's). */
export function throttlingAs(names: readonly string[], make: () => Error): (err: unknown) => unknown {
  return (err) => (names.includes((err as { name?: string })?.name ?? '') ? make() : err);
}
