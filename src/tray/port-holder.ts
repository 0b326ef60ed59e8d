/**
 * Who holds the proxy's port when the child could not listen: another
 * github-copilot-svcs proxy (it answered our /health, src/cli/proxy-client.ts
 * findRunningProxy), or, when it did not, some other program.
 */
export interface PortHolder {
  kind: 'github-copilot-svcs';
  version: string;
}

/** "another program" / "another github-copilot-svcs proxy (version 1.2.3)". Pure. */
export function portHolderText(holder: PortHolder | null): string {
  return holder ? `another github-copilot-svcs proxy (version ${holder.version})` : 'another program';
}
