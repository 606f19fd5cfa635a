// Entry point of the prebuilt bundle for the CI commands (validate, plan, render): CI runs them on every
// pull request, so they start from one bundled file instead of compiling TypeScript at start-up.
import { main as fullMain } from './main.ts';

export const CI_COMMANDS = ['validate', 'plan', 'render'];

export async function main(argv: string[]): Promise<number> {
  return fullMain(argv);
}
