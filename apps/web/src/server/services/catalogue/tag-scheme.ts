import { parseTag, type ImageTag as SchemeTag } from '@binfleet/arch-table';

/** The arch table's reading of a tag, or undefined for a tag outside the scheme (pushed by someone else). */
export function safeParse(tag: string): SchemeTag | undefined {
  try {
    return parseTag(tag);
  } catch {
    return undefined;
  }
}
