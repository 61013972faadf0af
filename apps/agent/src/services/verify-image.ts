import { debianArchOf, officialImagePrefixOf, type TargetId } from '@binfleet/arch-table';
import { AgentError } from '../errors.ts';

/** The seed's way to test: an official image of the target, e.g. arm64v8/busybox. */
export const DEFAULT_IMAGE_TEMPLATE = '{official}/busybox';

const PLACEHOLDERS: Readonly<Record<string, (id: TargetId) => string | undefined>> = {
  official: officialImagePrefixOf,
  debian: debianArchOf,
  target: (id) => id,
};

const PLACEHOLDER = /\{([^}]*)\}/g;

/** Rejects a template that could never name an image, before any check runs. */
export function validateImageTemplate(template: string): string {
  const unknown = [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1]!)
    .filter((name) => !(name in PLACEHOLDERS));
  if (unknown.length > 0) {
    throw new AgentError(
      'INVALID_INPUT',
      `--verify-image has unknown placeholder(s) ${unknown.map((n) => `{${n}}`).join(', ')}: use {official}, {debian} or {target}, e.g. ${DEFAULT_IMAGE_TEMPLATE}.`,
    );
  }
  if (!/^[A-Za-z0-9._/:@{}-]{1,255}$/.test(template)) {
    throw new AgentError(
      'INVALID_INPUT',
      `--verify-image "${template.slice(0, 80)}" is not an image reference: use letters, digits and . _ / : @ - with placeholders, e.g. ${DEFAULT_IMAGE_TEMPLATE}.`,
    );
  }
  return template;
}

/** The image to test a target with, or why the template names none for it. */
export function imageForTarget(template: string, target: TargetId): { image: string } | { missing: string } {
  let missing: string | undefined;
  const image = template.replace(PLACEHOLDER, (_, name: string) => {
    const value = PLACEHOLDERS[name]?.(target);
    if (value === undefined) missing ??= name;
    return value ?? '';
  });
  if (missing === undefined) return { image };
  return {
    missing:
      `${target} has no ${missing === 'official' ? 'official-image prefix' : 'Debian architecture'} for {${missing}} ` +
      `in --verify-image ${template}: use a template with {target}, e.g. myregistry/{target}-busybox.`,
  };
}
